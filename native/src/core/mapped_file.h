// A file mapped into memory, copy-on-write (io.loadTorch, issue 17): tensors read their
// values straight from the page cache, without reading the file into a buffer and copying
// it again into tensor memory, as torch.load(mmap=True) does.
#pragma once

#include <cstddef>
#include <utility>

namespace neocog {

class MappedFile {
 public:
  // Maps the whole regular file open as `fd` MAP_PRIVATE, readable and writable: a write (an
  // in-place op on a loaded tensor) copies its page and never reaches the file. Returns an
  // empty MappedFile (data() null) when the file is not a non-empty regular file or cannot
  // be mapped; the caller reads it another way. The mapping does not need `fd` to stay open.
  static MappedFile map(int fd);

  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept : data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
  }
  MappedFile& operator=(MappedFile&& other) noexcept {
    std::swap(data_, other.data_);  // `other` unmaps what this held
    std::swap(size_, other.size_);
    return *this;
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace neocog
