#include "app/acme_manager.hpp"

#include "app/acme_client.hpp"
#include "app/acme_crypto.hpp"
#include "http/acme_challenges.hpp"
#include "http/tls_context.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

namespace mercure {

namespace {

// Let's Encrypt allows 5 failed validations per account and name an hour: 2, 4, 8, 16 and 32
// minutes apart stay under it.
constexpr std::chrono::seconds kFirstRetry{120};
constexpr std::chrono::seconds kLongestRetry{3600};
constexpr std::int64_t kDay = 86'400;
constexpr long kLongestCaWait = 7 * kDay;  // a CA's Retry-After is followed up to a week

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string errno_text() {
  return std::strerror(errno);
}

// Errc::not_found only when the file does not exist; any other failure is Errc::internal.
Result<std::string> read_text(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const Errc code = errno == ENOENT ? Errc::not_found : Errc::internal;
    return Error{code, "cannot read \"" + path + "\": " + errno_text()};
  }
  std::string text;
  char chunk[8192];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = errno_text();
      ::close(fd);
      return Error{Errc::internal, "cannot read \"" + path + "\": " + why};
    }
    if (n == 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

// Writes `text` to `path` through a fresh temporary file (never an existing one: O_EXCL, so a
// link planted in the directory is not followed), synced, then renamed: a crash leaves the old
// file or the new one, never half of one.
Result<void> write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::string temporary = path + ".XXXXXX";
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0) return Error{Errc::internal, "cannot write \"" + path + "\": " + errno_text()};
  if (::fchmod(fd, mode) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(temporary.c_str());
    return Error{Errc::internal, "cannot write \"" + path + "\": " + why};
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = errno_text();
      ::close(fd);
      ::unlink(temporary.c_str());
      return Error{Errc::internal, "cannot write \"" + temporary + "\": " + why};
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(temporary.c_str());
    return Error{Errc::internal, "cannot write \"" + path + "\": " + why};
  }
  sync_directory(path.substr(0, path.rfind('/')));
  return {};
}

std::string date_of(std::int64_t seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

// The user's ACME_DIR: created 0700 when missing; an existing one is used as it is (a volume
// of any owner and mode the hub may write to), never changed.
Result<void> storage_directory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{Errc::bad_request, "ACME_DIR \"" + dir + "\": cannot create the directory: " + errno_text()};
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error{Errc::bad_request, "ACME_DIR \"" + dir + "\": not a directory"};
  }
  if (::access(dir.c_str(), W_OK) != 0) return Error{Errc::bad_request, "ACME_DIR \"" + dir + "\": not writable"};
  return {};
}

// A CA's folder inside ACME_DIR, where the keys are: created 0700 by the hub; an existing one
// must be a real directory (not a link) of the hub's user, and is made 0700 if it is not.
Result<void> key_folder(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{Errc::bad_request, "ACME_DIR: cannot create \"" + dir + "\": " + errno_text()};
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
    return Error{Errc::bad_request, "ACME_DIR: \"" + dir +
                                        "\" is not a directory of the hub's user (a link, or another user's): the "
                                        "keys are kept there; remove it"};
  }
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) {
    return Error{Errc::bad_request, "ACME_DIR: cannot make \"" + dir + "\" private: " + errno_text()};
  }
  return {};
}

}  // namespace

AcmeManager::AcmeManager(AcmeSettings settings, std::shared_ptr<TlsCertificates> certificates,
                         std::shared_ptr<AcmeChallenges> challenges)
    : settings_(std::move(settings)),
      ca_dir_(settings_.dir + "/" + ca_folder(settings_.directory_url)),
      certificates_(std::move(certificates)),
      challenges_(std::move(challenges)),
      cert_path_(ca_dir_ + "/" + settings_.domain + ".crt"),
      key_path_(ca_dir_ + "/" + settings_.domain + ".key") {}

std::string AcmeManager::ca_folder(const std::string& directory_url) {
  std::string_view rest = directory_url;
  if (const auto scheme = rest.find("://"); scheme != std::string_view::npos) rest.remove_prefix(scheme + 3);
  std::string folder;
  for (char c : rest) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
    if (keep) {
      folder += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!folder.empty() && folder.back() != '-') {
      folder += '-';
    }
  }
  while (!folder.empty() && (folder.back() == '-' || folder.back() == '.')) folder.pop_back();
  while (!folder.empty() && folder.front() == '.') folder.erase(folder.begin());
  return folder.empty() ? "ca" : folder;
}

AcmeManager::~AcmeManager() {
  stop();
}

std::int64_t AcmeManager::renewal_time(std::int64_t not_before, std::int64_t not_after) {
  return not_after - std::max<std::int64_t>(not_after - not_before, 0) / 3;
}

Result<void> AcmeManager::prepare() {
  if (auto ok = storage_directory(settings_.dir); !ok) return ok.error();
  if (auto ok = key_folder(ca_dir_); !ok) return ok.error();
  auto chain = read_text(cert_path_);
  if (!chain) return {};  // nothing stored for this CA: obtained once the listener runs
  auto validity = acme::certificate_validity(*chain);
  if (!validity || validity->not_after <= now_seconds() || !acme::certificate_covers(*chain, settings_.domain)) {
    spdlog::warn("acme: the stored certificate \"{}\" is {}; obtaining a new one", cert_path_,
                 !validity                              ? "not readable"
                 : validity->not_after <= now_seconds() ? "expired"
                                                        : "for another name");
    return {};
  }
  auto key = read_text(key_path_);
  try {
    if (!key) throw TlsSetupError(key.error().reason);
    certificates_->use(TlsContext::from_pem(*chain, *key, certificates_->h2(), certificates_->challenges()), cert_path_,
                       key_path_);
  } catch (const TlsSetupError& e) {
    spdlog::warn("acme: the stored certificate is not usable ({}); obtaining a new one", e.what());
    return {};
  }
  served(validity->not_before, validity->not_after, "using the stored certificate");
  return {};
}

void AcmeManager::served(std::int64_t not_before, std::int64_t not_after, const char* what) {
  std::int64_t renew_at = 0;
  {
    const std::lock_guard lock(mutex_);
    renew_at_ = renew_at = renewal_time(not_before, not_after);
    lifetime_ = not_after - not_before;
    not_after_ = not_after;
  }
  spdlog::info("acme: {} for \"{}\", valid until {} (renewed from {})", what, settings_.domain, date_of(not_after),
               date_of(renew_at));
}

void AcmeManager::start() {
  thread_ = std::thread([this] { run(); });
}

void AcmeManager::stop() {
  {
    const std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool AcmeManager::stopping() const {
  const std::lock_guard lock(mutex_);
  return stop_;
}

void AcmeManager::run() {
  std::chrono::seconds retry = kFirstRetry;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      // Checked at least daily, so a clock that jumps does not leave a renewal for months.
      const std::int64_t wait = std::clamp<std::int64_t>(renew_at_ - now_seconds(), 0, kDay);
      wake_.wait_for(lock, std::chrono::seconds(wait), [this] { return stop_; });
      if (stop_) return;
      if (now_seconds() < renew_at_) continue;
    }
    if (auto ok = obtain(); !ok) {
      if (stopping()) return;
      // The CA's Retry-After (a rate limit, maintenance) when longer than the back-off, but never
      // past half of what is left of the certificate served.
      long ca_wait = std::min(ca_retry_after_, kLongestCaWait);
      if (not_after_ > 0) {
        ca_wait = std::min<long>(ca_wait, static_cast<long>(std::max<std::int64_t>(0, not_after_ - now_seconds()) / 2));
      }
      const long wait = std::max<long>(static_cast<long>(retry.count()), ca_wait);
      spdlog::error("acme: cannot obtain a certificate for \"{}\": {}; trying again in {} s", settings_.domain,
                    ok.error().reason, wait);
      const std::lock_guard lock(mutex_);
      renew_at_ = now_seconds() + wait;
      retry = std::min(retry * 2, kLongestRetry);
      continue;
    }
    const std::lock_guard lock(mutex_);
    // A certificate due for renewal at once, or within seconds, means this machine's clock is
    // far ahead of the CA's: another one would be just as due. Wait until half of what is left
    // of it (by this clock) has passed, never less than the back-off, doubled each time.
    const std::int64_t now = now_seconds();
    const std::int64_t soonest =
        now + std::min<std::int64_t>(kFirstRetry.count(), std::max<std::int64_t>(1, lifetime_ / 3));
    if (renew_at_ < soonest) {
      renew_at_ = std::max(soonest, now + std::max<std::int64_t>(retry.count(), (not_after_ - now) / 2));
      spdlog::warn(
          "acme: the certificate obtained for \"{}\" is due for renewal at once (is this machine's clock "
          "right?); next attempt in {} s",
          settings_.domain, renew_at_ - now);
      retry = std::min(retry * 2, kLongestRetry);
    } else {
      retry = kFirstRetry;
    }
  }
}

Result<EvpPkeyPtr> AcmeManager::account_key() {
  const std::string path = ca_dir_ + "/account.key";
  auto stored = read_text(path);
  if (stored) {
    auto key = load_private_key_pem(*stored);
    if (!key) return Error{Errc::internal, "\"" + path + "\": " + key.error().reason};
    return std::move(*key);
  }
  // Only a missing file is replaced: an unreadable one keeps the account it holds.
  if (stored.error().code != Errc::not_found) return stored.error();
  auto key = acme::generate_key();
  if (!key) return key.error();
  auto pem = acme::private_key_pem(key->get());
  if (!pem) return pem.error();
  if (auto written = write_file(path, *pem, 0600); !written) return written.error();
  return std::move(*key);
}

Result<void> AcmeManager::obtain() {
  ca_retry_after_ = 0;
  auto account = account_key();
  if (!account) return account.error();
  auto cert_key = acme::generate_key();
  if (!cert_key) return cert_key.error();

  acme::Client client({settings_.directory_url, settings_.ca_root_file, settings_.email}, std::move(*account),
                      [this] { return stopping(); });
  const acme::ChallengeHooks hooks{
      [this](const std::string& type, const std::string& domain, const std::string& token,
             const std::string& key_authorization) -> Result<void> {
        if (type == acme::kHttp01) {
          challenges_->set_http(token, key_authorization);
          return {};
        }
        auto cert = acme::challenge_certificate(domain, key_authorization);
        if (!cert) return cert.error();
        try {
          challenges_->set(domain, cert->cert_pem, cert->key_pem);
        } catch (const TlsSetupError& e) {
          return Error{Errc::internal, e.what()};
        }
        return {};
      },
      [this](const std::string& type, const std::string& domain, const std::string& token) {
        if (type == acme::kHttp01) {
          challenges_->erase_http(token);
        } else {
          challenges_->erase(domain);
        }
      },
  };
  std::vector<std::string> types{acme::kTlsAlpn01};
  if (settings_.http_challenge) types.emplace_back(acme::kHttp01);
  if (!preferred_.empty() && preferred_ != types.front()) std::swap(types.front(), types.back());
  spdlog::info("acme: obtaining a certificate for \"{}\" from {}", settings_.domain, settings_.directory_url);
  Result<std::string> chain = Error{Errc::internal, "no challenge type"};
  std::string failures;  // of the types tried before
  for (std::size_t i = 0; i < types.size(); ++i) {
    chain = client.obtain(settings_.domain, cert_key->get(), types[i], hooks);
    if (chain) {
      preferred_ = types[i];
      break;
    }
    ca_retry_after_ = client.retry_after();
    if (!client.challenge_failed() || i + 1 == types.size() || stopping()) {
      return Error{chain.error().code, failures + chain.error().reason};
    }
    spdlog::warn("acme: {}; trying the {} challenge", chain.error().reason, types[i + 1]);
    failures += chain.error().reason + "; ";
  }
  auto validity = acme::certificate_validity(*chain);
  if (!validity) return validity.error();
  if (!acme::certificate_covers(*chain, settings_.domain)) {
    return Error{Errc::internal, "the certificate obtained is not for \"" + settings_.domain + "\""};
  }
  auto key_pem = acme::private_key_pem(cert_key->get());
  if (!key_pem) return key_pem.error();
  // Checked before anything is stored: a chain that is not usable with its key never replaces
  // the certificate on disk.
  std::shared_ptr<const TlsContext> context;
  try {
    context = TlsContext::from_pem(*chain, *key_pem, certificates_->h2(), certificates_->challenges());
  } catch (const TlsSetupError& e) {
    return Error{Errc::internal, std::string("the certificate obtained is not usable: ") + e.what()};
  }
  // The key first: a crash between the two renames leaves a chain whose key does not match,
  // which the next start-up sees (and obtains a new certificate), never a lost key.
  if (auto written = write_file(key_path_, *key_pem, 0600); !written) return written.error();
  if (auto written = write_file(cert_path_, *chain, 0644); !written) return written.error();
  certificates_->use(std::move(context), cert_path_, key_path_);
  served(validity->not_before, validity->not_after, "obtained a certificate");
  return {};
}

}  // namespace mercure
