# Sourced by scripts/test (bash, set -euo pipefail, repo root, .venv/bin on PATH).
# Sets up Rasa for the rasa-marked tests: reuses the machine's Rasa venv and models under
# RASA_HOME (default /var/cache/gopa-desk/rasa) or installs and trains them, serves the model
# on a free loopback port, exports RASA_URL and stops the server when scripts/test exits.
# Any failure here fails the run: a missing Rasa is an error, not a skip.

echo "provision: Rasa (gopa nlu rasa-setup)"
gopa nlu rasa-setup
_rasa_port="$(python -c 'from nlu.rasa_setup import free_port; print(free_port())')"
export RASA_URL="http://127.0.0.1:${_rasa_port}"
mkdir -p artifacts
gopa nlu rasa-serve --port "$_rasa_port" >artifacts/rasa-server.log 2>&1 &
_rasa_pid=$!

_gopa_stop_rasa() {
  kill "$_rasa_pid" 2>/dev/null || true
  wait "$_rasa_pid" 2>/dev/null || true
}
# Keep whatever EXIT trap an earlier provisioning step registered, and run it after ours.
_rasa_prev_exit=""
_gopa_save_exit_trap() {
  eval "set -- $(trap -p EXIT)"
  _rasa_prev_exit="${3:-}"
}
_gopa_save_exit_trap
trap -- '_gopa_stop_rasa; eval "$_rasa_prev_exit"' EXIT
# If scripts/test dies without running traps (SIGKILL), do not leave Rasa behind.
(
  while kill -0 $$ 2>/dev/null && kill -0 "$_rasa_pid" 2>/dev/null; do sleep 5; done
  kill "$_rasa_pid" 2>/dev/null || true
) >/dev/null 2>&1 &

if ! python - "$RASA_URL" "$_rasa_pid" <<'PY'
import sys

from nlu.rasa_setup import pid_running, wait_until_ready

url, pid = sys.argv[1], int(sys.argv[2])
print(f"provision: Rasa ready at {url} after {wait_until_ready(url, 300, alive=lambda: pid_running(pid)):.0f} s")
PY
then
  echo "provision: Rasa did not start; the end of artifacts/rasa-server.log:" >&2
  tail -n 40 artifacts/rasa-server.log >&2
  exit 1
fi
