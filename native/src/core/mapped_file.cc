#include "core/mapped_file.h"

#include <sys/mman.h>
#include <sys/stat.h>

namespace neocog {

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

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace neocog
