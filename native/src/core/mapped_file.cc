#include "core/mapped_file.h"

#include <sys/mman.h>
#include <sys/stat.h>

namespace neocog {

namespace {
#ifdef MADV_POPULATE_READ
constexpr int kPopulateRead = MADV_POPULATE_READ;
#else
constexpr int kPopulateRead = 22;  // Linux's value, for older C libraries' headers
#endif
}  // namespace

MappedFile MappedFile::map(int fd) {
  MappedFile file;
  struct stat info {};
  // Pipes, devices and empty files (mmap refuses length 0) are read the ordinary way.
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_size <= 0) return file;
  const size_t size = static_cast<size_t>(info.st_size);
  void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (data == MAP_FAILED) return file;
  // The reader goes through the whole file, in order: let the kernel read ahead.
  ::madvise(data, size, MADV_WILLNEED);
  file.data_ = data;
  file.size_ = size;
  return file;
}

void MappedFile::readIn(void* data, size_t size) {
  // Not MAP_POPULATE: on a private writable mapping it write-faults every page, copying the
  // whole file (50 ms per 100 MB here). MADV_POPULATE_READ (Linux 5.14) maps the page
  // cache's pages readable; older kernels fault them in as the tensors are read.
  ::madvise(data, size, kPopulateRead);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace neocog
