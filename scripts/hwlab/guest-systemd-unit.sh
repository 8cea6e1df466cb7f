#!/usr/bin/env bash
# Lab guest: boothd under the shipped systemd unit. systemd runs as PID 1 of a PID namespace inside the guest (the
# guest's own init is a shell), with systemd/boothd.service installed as is except ExecStart (the fresh build) and
# the simulator's camera off. Checks: the unit's sandbox starts boothd, READY=1 (Type=notify) makes it active with
# its STATUS=, and WATCHDOG=1 pings keep arriving (WatchdogTimestamp advances) with no restart.
set -uo pipefail
bin=${BUILD_DIR:?BUILD_DIR not set}
out=${HWLAB_OUT:-/tmp}
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mountpoint -q /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup
# What systemd-sysusers would create from systemd/boothd.sysusers.conf.
grep -q '^boothd:' /etc/group || echo "boothd:x:990:" >>/etc/group
grep -q '^boothd:' /etc/passwd || echo "boothd:x:990:990::/var/lib/boothd:/usr/sbin/nologin" >>/etc/passwd
mkdir -p /etc/systemd/system
# Installed where a package puts it: the unit's PrivateTmp hides /tmp, where a CI checkout may live.
install -D -m 0755 "$bin/boothd" /usr/local/bin/boothd
sed "s#^ExecStart=.*#ExecStart=/usr/local/bin/boothd --set simulator.camera=false#" systemd/boothd.service \
    >/etc/systemd/system/boothd.service
# sysinit's file-system walkers take minutes over the guest's 9p root under TCG and are not under test: mask them.
for unit in systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer \
    ldconfig.service systemd-hwdb-update.service systemd-journal-catalog-update.service systemd-update-done.service \
    systemd-sysusers.service systemd-udev-trigger.service systemd-journal-flush.service; do
    ln -sf /dev/null "/etc/systemd/system/$unit"
done
cat >/etc/systemd/system/boothlab.target <<'UNIT'
[Unit]
Description=boothd lab target
Requires=boothd.service
After=boothd.service
UNIT
env container=hwlab unshare --pid --fork --mount-proc \
    /lib/systemd/systemd --unit=boothlab.target --log-target=console >"$out/systemd.log" 2>&1 &
launcher=$!
systemd_pid=""
for _ in $(seq 1 50); do
    systemd_pid=$(cat /proc/$launcher/task/*/children 2>/dev/null | tr -d ' ')
    [ -n "$systemd_pid" ] && break
    sleep 0.1
done
# systemctl from inside the namespace (systemd refuses private-bus clients whose pid it cannot see).
sctl() { nsenter -t "$systemd_pid" -p -m systemctl "$@"; }
state=""
for _ in $(seq 1 180); do
    state=$(sctl is-active boothd 2>/dev/null)
    [ "$state" = active ] || [ "$state" = failed ] && break
    sleep 1
done
sctl status boothd --no-pager 2>&1 | head -20 | tee "$out/status.log"
show() { sctl show boothd -p "$1" --value; }
if [ "$state" = active ] && [ "$(show Type)" = notify ] && [ -n "$(show StatusText)" ]; then
    pass "boothd.service active under its sandbox after READY=1 (status: $(show StatusText))"
else
    fail "boothd.service state '$state'"
fi
echo "WatchdogUSec=$(show WatchdogUSec)"
first=$(show WatchdogTimestampMonotonic)
sleep 25
second=$(show WatchdogTimestampMonotonic)
echo "watchdog timestamps (monotonic µs): $first -> $second"
if [ -n "$first" ] && [ -n "$second" ] && [ "$second" -gt "$first" ] && [ "$(show NRestarts)" = 0 ] &&
    [ "$(show ActiveState)" = active ]; then
    pass "watchdog pings observed ($(((second - first) / 1000)) ms apart in a 25 s window), no restart"
else
    fail "no watchdog ping observed (NRestarts=$(show NRestarts), $(show ActiveState))"
fi
sctl show boothd -p ExecMainStatus -p MainPID -p User -p ProtectSystem -p CapabilityBoundingSet 2>&1
# Leave the guest's init to a clean power-off: stop the namespace's systemd without it touching the console.
kill -KILL "$systemd_pid" 2>/dev/null
wait "$launcher" 2>/dev/null
echo "systemd lab: $failures failure(s)"
[ "$failures" -eq 0 ]
