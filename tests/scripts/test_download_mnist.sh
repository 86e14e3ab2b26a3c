#!/usr/bin/env bash
# The test of scripts/download-mnist, against busybox httpd (which serves byte
# ranges) on 127.0.0.1 only, never the internet: a full download, a resumed one,
# a corrupt file refused and removed, an unreachable server with a one-line error.
set -euo pipefail
project=$(cd "$(dirname "$0")/../.." && pwd)
mnist=$project/data/mnist
work=$(mktemp -d)
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
download() { bash "$project/scripts/download-mnist" "$@" > "$work/out" 2> "$work/err"; }
port_taken() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
free_port() {
  local port=$((20000 + RANDOM % 30000))
  while port_taken "$port"; do port=$((port + 1)); done
  echo "$port"
}
labels=t10k-labels-idx1-ubyte.gz

# The server's copy of the small labels file differs from data/mnist's in the gzip
# header's MTIME only (same content, same checks): a download that kept a local
# prefix ends up byte-identical to data/mnist's file, one fetched whole does not.
mkdir "$work/served"
cp "$mnist"/*.gz "$work/served/"
printf '\x01\x02\x03\x04' | dd of="$work/served/$labels" bs=1 seek=4 conv=notrunc status=none
! cmp -s "$work/served/$labels" "$mnist/$labels" || fail "the served copy should differ in its header"

for attempt in 1 2 3; do
  port=$(free_port)
  busybox httpd -f -p "127.0.0.1:$port" -h "$work/served" & server=$!
  for _ in $(seq 50); do port_taken "$port" && break; sleep 0.1; done
  kill -0 "$server" 2> /dev/null && port_taken "$port" && break
  server=""
done
[ -n "$server" ] || fail "busybox httpd did not start on 127.0.0.1"
url=http://127.0.0.1:$port

# 1. A full download into a new folder, then a second run that fetches nothing.
download "$work/full" --url "$url" || fail "full download: $(cat "$work/err")"
for f in "$mnist"/*.gz; do cmp -s "$work/served/${f##*/}" "$work/full/${f##*/}" || fail "full download: ${f##*/} differs"; done
[ -z "$(ls "$work/full" | grep -v '\.gz$')" ] || fail "full download left $(ls "$work/full")"
download "$work/full" --url "$url" || fail "second run: $(cat "$work/err")"
[ "$(grep -c 'present, checks' "$work/out")" -eq 4 ] || fail "second run fetched again: $(cat "$work/out")"

# 2. A partial download is resumed: its first 3000 bytes are kept.
mkdir "$work/resumed"
cp "$mnist"/*.gz "$work/resumed/"
head -c 3000 "$mnist/$labels" > "$work/resumed/$labels.part"
rm "$work/resumed/$labels"
download "$work/resumed" --url "$url" || fail "resume: $(cat "$work/err")"
grep -q "resuming at byte 3000" "$work/out" || fail "resume: not resumed: $(cat "$work/out")"
cmp -s "$mnist/$labels" "$work/resumed/$labels" || fail "resume: the local prefix was not kept"

# 3. A corrupt file is refused with one line and removed: a damaged gzip stream,
#    and a valid one of other content; a damaged file already in DIR is replaced.
for corruption in damaged other-content; do
  if [ $corruption = damaged ]; then
    cp "$mnist/$labels" "$work/served/$labels"
    printf '\xff' | dd of="$work/served/$labels" bs=1 seek=2000 conv=notrunc status=none
  else
    gzip -dc "$mnist/train-labels-idx1-ubyte.gz" | gzip -c > "$work/served/$labels"
  fi
  mkdir "$work/$corruption"
  cp "$mnist"/*.gz "$work/$corruption/"
  rm "$work/$corruption/$labels"
  ! download "$work/$corruption" --url "$url" || fail "$corruption: accepted"
  [ "$(wc -l < "$work/err")" -eq 1 ] && grep -q "^error: $url/$labels: the SHA-256 of its uncompressed content is not " "$work/err" ||
    fail "$corruption: wrong message: $(cat "$work/err")"
  ! ls "$work/$corruption/$labels"* > /dev/null 2>&1 || fail "$corruption: left $(ls "$work/$corruption")"
done
cp "$mnist/$labels" "$work/served/$labels"
head -c -4 "$mnist/$labels" > "$work/damaged/$labels"
download "$work/damaged" --url "$url" || fail "replacing a damaged file: $(cat "$work/err")"
cmp -s "$mnist/$labels" "$work/damaged/$labels" || fail "a damaged file in DIR was not replaced"

# 4. An unreachable server, and a wrong URL: one line naming the URL, nothing left.
for base in "http://127.0.0.1:$(free_port)" "$url/nowhere"; do
  ! download "$work/offline" --url "$base" || fail "$base: succeeded"
  [ "$(wc -l < "$work/err")" -eq 1 ] && grep -q "^error: cannot download $base/t10k-images-idx3-ubyte.gz (curl: " "$work/err" ||
    fail "$base: wrong message: $(cat "$work/err")"
  [ -z "$(ls "$work/offline")" ] || fail "$base: left $(ls "$work/offline")"
done
echo "download-mnist: full, repeated, resumed, corrupt (2 kinds), damaged in place, unreachable, 404: all as expected"
