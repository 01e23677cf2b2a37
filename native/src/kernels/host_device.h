// NC_HOST_DEVICE marks math compiled for both the CPU backend (g++) and CUDA kernels
// (nvcc), so the CPU tests exercise exactly the code the GPU runs (DESIGN §4).
#pragma once

#if defined(__CUDACC__)
#define NC_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define NC_HOST_DEVICE inline
#endif
