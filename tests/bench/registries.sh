# Sourced by the benchmarks: loopback Distribution registries, stopped when the script exits.
# Needs $work (a scratch folder).
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
# start_registry NAME: starts a registry, sets $host (not a $(…) subshell: its pid must be
# remembered here, for the trap).
start_registry() {
  local port dir
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  dir="$work/$1"; rm -rf "$dir"; mkdir -p "$dir"
  printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s/storage}}\nhttp: {addr: 127.0.0.1:%s}\n' "$dir" "$port" > "$dir/config.yml"
  env -u REGISTRY_HTTP_ADDR docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
  host="127.0.0.1:$port"
}
# cpu_seconds PID...: the CPU seconds (user + system) the processes have used so far.
cpu_seconds() {
  local stats=()
  for pid in "$@"; do stats+=("/proc/$pid/stat"); done
  awk -v hz="$(getconf CLK_TCK)" '{ s += $14 + $15 } END { printf "%.2f", s / hz }' "${stats[@]}"
}
