#pragma once

// `rs_ingester redshift-smoke`: what an operator runs against their own cluster and bucket
// before cut-over (scripts/redshift-smoke, docs/warehouse.md "Redshift requirements"). It takes
// the backend through its whole path in a scratch schema it creates and drops: start-up checks,
// a small migration history, a load of two files through a manifest, the ledger, an orphaned
// batch resolved through the ledger, and the clean-up; one PASS/FAIL/SKIP line per step.

#include <iosfwd>
#include <string>

#include <CLI/CLI.hpp>

#include "http/aws_settings.hpp"
#include "objectstore/object_store.hpp"
#include "warehouse/redshift_warehouse.hpp"

namespace rsi::app {

struct RedshiftSmokeSettings {
  // The cluster and COPY's authorization, as rsloadmanager would use them; the layout is
  // replaced by the scratch schemas.
  warehouse::RedshiftConfig redshift;
  // Where the two small files are written (and removed): the store rooted at `data_bucket`,
  // under `data_prefix`. COPY reads them there with the configured authorization.
  objectstore::ObjectStore* data = nullptr;
  std::string data_bucket;
  std::string data_prefix = "rsi-smoke";
  // The scratch schema (its views go to "<scratch>_views"); "": rsi_smoke_<8 hex digits>.
  std::string scratch;
};

// Runs every step, printing "PASS  <step>", "FAIL  <step>: <why>" or "SKIP  <step>" (after a
// failure it depends on) to `out`, the clean-up always; true when every step passed.
[[nodiscard]] bool run_redshift_smoke(const RedshiftSmokeSettings& settings, std::ostream& out);

// The `redshift-smoke` command of rs_ingester: its flags on `app`, and what it runs once parsed
// (the cluster's URL, the manifest bucket, COPY's authorization as rsloadmanager takes them;
// S3 through the process's AWS configuration).
class RedshiftSmokeCommand {
public:
  explicit RedshiftSmokeCommand(CLI::App& app);

  [[nodiscard]] bool chosen() const;
  // Runs it, the lines to `out`; the exit status: 0 when every step passed, k_exit_config_error
  // for flags that name no Redshift cluster or bucket, k_exit_startup_error when a step failed.
  [[nodiscard]] int run(std::ostream& out);

private:
  struct Options {
    std::string warehouse_url;
    std::string manifest_bucket;
    std::string data_bucket;
    std::string data_prefix = "rsi-smoke";
    std::string iam_role;
    std::string scratch;
    http::AwsConfig aws;
  };
  Options m_options;
  CLI::App* m_command = nullptr;
};

} // namespace rsi::app
