#pragma once
// A unique directory under the system's temporary directory, removed (recursively) by remove()
// or the destructor. Used by the LMDB tests' fixtures (removed in TearDown, even on failure).

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace mercure::test {

class TempDir final {
 public:
  TempDir() {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    const std::string name = "mercure-lmdb-test-" + std::to_string(::getpid()) + "-" +
                             std::to_string(counter.fetch_add(1)) + "-" + std::to_string(rd());
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { remove(); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  // A path inside the directory, as a string (e.g. the store's directory).
  [[nodiscard]] std::string sub(const std::string& name) const { return (path_ / name).string(); }

  void remove() {
    if (path_.empty()) return;
    std::error_code ec;
    // Restore permissions a test may have removed, so the tree can be deleted.
    for (auto it = std::filesystem::recursive_directory_iterator(
             path_, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all, std::filesystem::perm_options::add,
                                   ec);
    }
    std::filesystem::remove_all(path_, ec);
    path_.clear();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace mercure::test
