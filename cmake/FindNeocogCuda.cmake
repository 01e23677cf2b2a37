# Finds nvcc, cuDNN 9, cuBLAS 13 and NCCL 2 and builds libneocog_cuda.so. The libraries come
# from CUDNN_ROOT / CUBLAS_ROOT / NCCL_ROOT (CMake or environment variables), from the pip
# wheels nvidia-cudnn-cu13 / nvidia-cublas / nvidia-nccl-cu13 in any Python site directory,
# or from the system. The wheels ship only versioned libraries (libcudnn.so.9,
# libcublas.so.13, libnccl.so.2), so those are the names searched.
include(CheckLanguage)

function(neocog_cuda_unavailable reason)
  if(NEOCOG_CUDA STREQUAL "ON")
    message(FATAL_ERROR "neocog: NEOCOG_CUDA=ON but ${reason}")
  endif()
  message(STATUS "neocog: CUDA plugin not built: ${reason}")
endfunction()

check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  neocog_cuda_unavailable("nvcc was not found (install the CUDA toolkit or put nvcc on PATH)")
  return()
endif()

# Candidate roots: explicit variables first, then every site directory's nvidia/ folder.
set(_nc_roots "")
foreach(var CUDNN_ROOT CUBLAS_ROOT NCCL_ROOT)
  if(DEFINED ${var})
    list(APPEND _nc_roots "${${var}}")
  elseif(DEFINED ENV{${var}})
    list(APPEND _nc_roots "$ENV{${var}}")
  endif()
endforeach()
if(DEFINED ENV{NEOCOG_NVIDIA_SITE})
  list(APPEND _nc_roots "$ENV{NEOCOG_NVIDIA_SITE}/nvidia/cudnn" "$ENV{NEOCOG_NVIDIA_SITE}/nvidia/cu13"
       "$ENV{NEOCOG_NVIDIA_SITE}/nvidia/cublas" "$ENV{NEOCOG_NVIDIA_SITE}/nvidia/nccl")
endif()
find_program(_nc_python NAMES python3 python)
if(_nc_python)
  execute_process(
    COMMAND ${_nc_python} -c "import sys, os\nfor p in sys.path:\n  d = os.path.join(p or '.', 'nvidia')\n  print(d) if os.path.isdir(d) else None"
    OUTPUT_VARIABLE _nc_sites OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  string(REPLACE "\n" ";" _nc_sites "${_nc_sites}")
  foreach(site ${_nc_sites})
    list(APPEND _nc_roots "${site}/cudnn" "${site}/cu13" "${site}/cublas" "${site}/nccl")
  endforeach()
endif()
list(APPEND _nc_roots /usr/local/cuda /usr)

find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${_nc_roots} PATH_SUFFIXES include NO_DEFAULT_PATH)
find_library(CUDNN_LIBRARY NAMES libcudnn.so.9 HINTS ${_nc_roots} PATH_SUFFIXES lib lib64 lib/x86_64-linux-gnu NO_DEFAULT_PATH)
find_path(CUBLAS_INCLUDE_DIR cublas_v2.h HINTS ${_nc_roots} PATH_SUFFIXES include NO_DEFAULT_PATH)
find_library(CUBLAS_LIBRARY NAMES libcublas.so.13 HINTS ${_nc_roots} PATH_SUFFIXES lib lib64 lib/x86_64-linux-gnu NO_DEFAULT_PATH)
find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${_nc_roots} PATH_SUFFIXES include NO_DEFAULT_PATH)
find_library(NCCL_LIBRARY NAMES libnccl.so.2 HINTS ${_nc_roots} PATH_SUFFIXES lib lib64 lib/x86_64-linux-gnu NO_DEFAULT_PATH)
if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
  neocog_cuda_unavailable("cuDNN 9 was not found (pip install nvidia-cudnn-cu13, or set CUDNN_ROOT)")
  return()
endif()
if(NOT CUBLAS_INCLUDE_DIR OR NOT CUBLAS_LIBRARY)
  neocog_cuda_unavailable("cuBLAS 13 was not found (pip install nvidia-cublas, or set CUBLAS_ROOT)")
  return()
endif()
if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
  neocog_cuda_unavailable("NCCL 2 was not found (pip install nvidia-nccl-cu13, or set NCCL_ROOT)")
  return()
endif()

enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
# Real code for Turing..Hopper plus compute_90 PTX so newer GPUs JIT-compile it.
if(NOT DEFINED NEOCOG_CUDA_ARCHITECTURES)
  set(NEOCOG_CUDA_ARCHITECTURES "75-real;80-real;86-real;89-real;90")
endif()

file(GLOB NEOCOG_CUDA_SOURCES CONFIGURE_DEPENDS native/src/cuda/*.cu native/src/cuda/*.cc)
add_library(neocog_cuda SHARED ${NEOCOG_CUDA_SOURCES})
set_target_properties(neocog_cuda PROPERTIES
  CUDA_ARCHITECTURES "${NEOCOG_CUDA_ARCHITECTURES}"
  CUDA_RUNTIME_LIBRARY Static
  CUDA_VISIBILITY_PRESET hidden)
target_include_directories(neocog_cuda PRIVATE native/include native/src ${CUDNN_INCLUDE_DIR} ${CUBLAS_INCLUDE_DIR}
                                               ${NCCL_INCLUDE_DIR})
target_compile_options(neocog_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall>)
target_link_libraries(neocog_cuda PRIVATE ${CUDNN_LIBRARY} ${CUBLAS_LIBRARY} ${NCCL_LIBRARY})
# Only the plugin entry point is exported; the static CUDA runtime stays private to the plugin.
target_link_options(neocog_cuda PRIVATE "-Wl,--exclude-libs,ALL" "-Wl,--no-undefined")

# Where the libraries were found, for lib/cuda.ts to try when nothing else is configured.
get_filename_component(_nc_cudnn_dir "${CUDNN_LIBRARY}" DIRECTORY)
get_filename_component(_nc_cublas_dir "${CUBLAS_LIBRARY}" DIRECTORY)
get_filename_component(_nc_nccl_dir "${NCCL_LIBRARY}" DIRECTORY)
file(GENERATE OUTPUT "$<TARGET_FILE_DIR:neocog_cuda>/neocog_cuda.json"
     CONTENT "{\"cudnnLibDir\": \"${_nc_cudnn_dir}\", \"cublasLibDir\": \"${_nc_cublas_dir}\", \"ncclLibDir\": \"${_nc_nccl_dir}\"}\n")
message(STATUS "neocog: building the CUDA plugin (cuDNN ${CUDNN_LIBRARY}, cuBLAS ${CUBLAS_LIBRARY}, NCCL ${NCCL_LIBRARY})")
