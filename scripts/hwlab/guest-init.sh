#!/bin/sh
# Stage 2 of the lab guest, on the overlay root: minimal system setup, then the job that run.sh wrote into the
# shared run directory (mounted at /hwlab), then power off. The job's exit status is written to /hwlab/rc.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LANG=C.UTF-8
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm /hwlab
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 hwlabrun /hwlab || echo "hwlab stage2: cannot mount the run directory"
mount -t configfs configfs /sys/kernel/config 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
hostname hwlab
uptime_s() { cut -d' ' -f1 /proc/uptime; }
echo "hwlab: guest up after $(uptime_s) s"
rc=125
if [ -r /hwlab/job.env ]; then
    # job.env sets HWLAB_SCRIPT, HWLAB_CWD and the job's exported variables; HWLAB_ARGS holds one argument a line.
    . /hwlab/job.env
    export HWLAB_OUT=/hwlab/out
    mkdir -p "$HWLAB_OUT"
    cd "$HWLAB_CWD" || cd /
    set --
    while IFS= read -r arg; do set -- "$@" "$arg"; done </hwlab/args
    bash "$HWLAB_SCRIPT" "$@"
    rc=$?
else
    echo "hwlab stage2: no job in /hwlab"
fi
echo "$rc" >/hwlab/rc
echo "hwlab: job exited $rc after $(uptime_s) s"
sync
echo o >/proc/sysrq-trigger
sleep 5
poweroff -f
