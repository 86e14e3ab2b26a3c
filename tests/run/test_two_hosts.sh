#!/usr/bin/env bash
# Two hosts as network namespaces joined by a veth pair: mpirun in one starts rank 1 in
# the other through an rsh agent that enters that namespace (Open MPI's plm_rsh_agent,
# as ssh would on a cluster), and the ranks talk TCP over the veth, no shared memory.
# The weights, running statistics and optimizer state equal a one-process run's bit for
# bit. Needs root and network namespaces; skipped (exit 77) where there are none.
#   test_two_hosts.sh MPIRUN TRAINER DATA_DIR WORK_DIR PYTHON
set -euo pipefail
mpirun=$1 trainer=$2 data=$3 work=$4 python=$5
[ "$(id -u)" -eq 0 ] || { echo "skipped: network namespaces need root"; exit 77; }
# ip netns exec remounts / as a slave, which needs / to be a mount point: in a plain
# chroot (CI's fresh root) it is not, and nothing is created there.
mountpoint -q / || { echo "skipped: / is not a mount point (a chroot?): ip netns exec cannot work here"; exit 77; }
a=typenet-$$-a b=typenet-$$-b
cleanup() { ip netns del "$a" 2> /dev/null || true; ip netns del "$b" 2> /dev/null || true; }
trap cleanup EXIT
if ! error=$({ ip netns add "$a" && ip netns add "$b" && ip link add tnv$$a type veth peer name tnv$$b &&
               ip link set tnv$$a netns "$a" && ip link set tnv$$b netns "$b"; } 2>&1); then
  echo "skipped: cannot make network namespaces here: $error"; exit 77
fi
ip -n "$a" addr add 10.77.0.1/24 dev tnv$$a && ip -n "$b" addr add 10.77.0.2/24 dev tnv$$b
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set tnv$$a up && ip -n "$b" link set tnv$$b up

rm -rf "$work" && mkdir -p "$work"
cat > "$work/rsh" <<AGENT
#!/bin/sh
# "rsh HOST COMMAND...": COMMAND in the namespace of HOST's address.
host=\$1; shift
case "\$host" in 10.77.0.1) ns=$a ;; 10.77.0.2) ns=$b ;; *) echo "rsh: no host \$host" >&2; exit 1 ;; esac
exec ip netns exec "\$ns" sh -c "\$*"
AGENT
chmod +x "$work/rsh"
printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' > "$work/hosts"

options=(--data "$data" --epochs 2 --batch 50 --train-limit 1000 --translate 1 --seed 3 --threads 1)
"$trainer" "${options[@]}" --checkpoint-dir "$work/one" > "$work/one.log" 2>&1 || { cat "$work/one.log"; exit 1; }
ip netns exec "$a" "$mpirun" --allow-run-as-root --hostfile "$work/hosts" -np 2 --map-by node \
  --mca plm_rsh_agent "$work/rsh" --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 \
  --mca oob_tcp_if_include 10.77.0.0/24 \
  "$trainer" "${options[@]}" --checkpoint-dir "$work/two" > "$work/two.log" 2>&1 || { cat "$work/two.log"; exit 1; }

"$python" - "$work/one/last.safetensors" "$work/two/last.safetensors" <<'COMPARE'
import json, struct, sys
def tensors(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
    return {k: data[v['data_offsets'][0]:v['data_offsets'][1]] for k, v in header.items() if k != '__metadata__'}
one, two = tensors(sys.argv[1]), tensors(sys.argv[2])
differ = sorted(k for k in one if one[k] != two.get(k))
if differ or len(one) != len(two):
    sys.exit(f'two hosts differ from one process in {differ or "their tensor names"}')
print(f'two hosts over TCP: all {len(one)} tensors equal one process\'s bit for bit')
COMPARE
