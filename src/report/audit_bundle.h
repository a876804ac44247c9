// A self-contained audit bundle (`lethe audit LEDGER --export DIR`): the ledger byte for byte,
// every file and folder its records name inside the ledger's folder at the same relative path, and
// audit_bundle.json. It verifies wherever DIR is moved. Files recorded by absolute path (a base
// model outside the run) are named by path and sha256 only.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lethe::report {

// The manifest beside an exported ledger.
constexpr const char* kBundleManifest = "audit_bundle.json";

struct BundleManifest {
  std::string ledger;                               // the ledger's file name in the bundle
  std::string ledger_sha256;                        // sha256 of the ledger as exported
  std::map<std::string, std::string> not_included;  // absolute recorded path -> sha256
};

// ROOT/audit_bundle.json when it describes the ledger named LEDGER_NAME; nullopt when there is none
// or it names another ledger. Throws lethe::Error naming the file when it is malformed.
std::optional<BundleManifest> read_bundle_manifest(const std::filesystem::path& root,
                                                   const std::string& ledger_name);

struct BundleSummary {
  std::filesystem::path dir;  // absolute
  size_t records = 0;
  std::vector<std::string> included;      // recorded relative paths copied
  std::vector<std::string> not_included;  // "base_model /abs/path (sha256 ab12..)"
  uintmax_t bytes = 0;                    // of the copied files and folders
};

// Writes the bundle of LEDGER into DIR, which must not exist or be an empty folder. LEDGER must
// verify first; the copy is built in a temporary folder beside DIR, verified there, then renamed
// onto DIR, so DIR is either absent or complete. Throws lethe::Error (one line) otherwise.
BundleSummary export_audit_bundle(const std::filesystem::path& ledger,
                                  const std::filesystem::path& dir);

}  // namespace lethe::report
