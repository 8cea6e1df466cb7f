"""Runs every benchmark, stores one JSON file per run, and compares two runs side by side.

    scripts/bench/all.sh [--fast] [--results DIR] [--only daemon,api,...] [--lab] [--build-dir DIR]
    scripts/bench/all.sh compare A.json B.json       (or two run ids / "latest" "previous" in the results dir)

Benchmarks: daemon (start-to-READY, RSS idle/under load), api (notify latency, sustained rate with 10 clients),
video (CPU per frame vs gst-launch-1.0, fps, bit rate, snapshot latency), audio (stethoscope branch CPU, Opus
bit rate, latency), ecg (decode throughput, strip render), ble (virtual hardware lab VM; only with --lab: slow).
A run file holds the machine, the commit, the mode and, per benchmark, its figures and its raw output.
"""

import argparse
import datetime
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BENCHES = ["daemon", "api", "video", "audio", "ecg", "ble"]


def run(command, env, timeout):
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout, done.stderr, time.monotonic() - started
    except subprocess.TimeoutExpired as expired:
        return 124, expired.stdout or "", f"timed out after {timeout} s", time.monotonic() - started


def number(text):
    match = re.search(r"-?\d+(?:\.\d+)?", text)
    return float(match.group()) if match else None


def slug(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def bench_json_lines(output):
    figures = {}
    for line in output.splitlines():
        if line.startswith("bench-json: "):
            figures.update(json.loads(line[len("bench-json: "):]))
    return figures


def markdown_rows(output, columns):
    """Figures from a markdown table `| figure | col1 | col2 | target |`: first number of each named column."""
    figures = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[0] in ("figure", "") or set(cells[0]) <= {"-"}:
            continue
        # "live bit rate, snow (kbit/s, worst 5 s window of 174 frames)" -> live_bit_rate_snow_kbit_s: the name
        # and the unit only, so that keys stay the same from run to run.
        name, _, detail = cells[0].partition("(")
        key = slug(name) + ("_" + slug(detail.split(",")[0]) if detail else "")
        for index, column in enumerate(columns, start=1):
            if index < len(cells) and (value := number(cells[index])) is not None:
                figures[f"{key}__{column}"] = value
    return figures


def flatten_json(output, prefix=""):
    figures = {}
    for match in re.finditer(r"\{[^{}]*\}", output, re.S):
        try:
            data = json.loads(match.group())
        except json.JSONDecodeError:
            continue
        for key, value in data.items():
            if isinstance(value, (int, float)):
                figures[prefix + key] = value
    return figures


def bench_daemon(args, env):
    code, out, err, seconds = run(["scripts/bench/daemon/run.sh"] + (["--fast"] if args.fast else []), env, 900)
    return code, out, err, seconds, bench_json_lines(out)


def bench_api(args, env):
    samples, rate, burst = ("400", "100", "1500") if args.fast else ("2000", "100", "5000")
    code, out, err, seconds = run(["scripts/bench/api/run.sh", "release", samples, rate, burst], env, 900)
    return code, out, err, seconds, bench_json_lines(out)


def bench_video(args, env):
    extra = ["--frames", "120", "--rounds", "1"] if args.fast else []
    code, out, err, seconds = run(["scripts/bench/video/run.sh"] + extra, env, 900)
    return code, out, err, seconds, markdown_rows(out, ["boothd", "gst_launch"])


def bench_audio(args, env):
    cases = [(48000, 64000)] if args.fast else [(48000, 64000), (48000, 32000), (16000, 64000), (16000, 32000)]
    boothctl = os.path.join(env["BUILD_DIR"], "boothctl")
    outputs, errors, figures, code, total = [], [], {}, 0, 0.0
    for rate, bitrate in cases:
        command = [boothctl, "stethoscope", "bench", "--test-tone", "100", "--rate", str(rate), "--channels", "1",
                   "--bitrate", str(bitrate), "--seconds", "3" if args.fast else "10", "--json"]
        case_code, out, err, seconds = run(command, env, 120)
        code = code or case_code
        total += seconds
        outputs.append(out)
        errors.append(err)
        figures.update(flatten_json(out, prefix=f"r{rate}_b{bitrate}_"))
    return code, "\n".join(outputs), "\n".join(errors), total, figures


def bench_ecg(args, env):
    extra = ["--seconds", "10", "--renders", "2"] if args.fast else []
    code, out, err, seconds = run(["scripts/bench/ecg/run.sh", "--json"] + extra, env, 900)
    return code, out, err, seconds, flatten_json(out)


def bench_ble(args, env):
    code, out, err, seconds = run(["scripts/bench/ble/run.sh"], env, 1200)
    figures = {}
    for line in out.splitlines():
        if line.startswith("ble bench:"):
            for label, value in re.findall(r"([a-z][a-z0-9 _-]*?)\s+(-?\d+(?:\.\d+)?)\s*ms", line[10:]):
                figures[slug(label) + "_ms"] = float(value)
    return code, out, err, seconds, figures


def git(*arguments):
    done = subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


def build(build_dir):
    if build_dir:
        return os.path.abspath(build_dir)
    for product in ("boothd", "boothctl", "booth-video-bench"):
        print(f"building {product} (release)...", file=sys.stderr, flush=True)
        done = subprocess.run(["scripts/release-build", "--product", product], cwd=ROOT,
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"build of {product} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return subprocess.run(["scripts/release-build", "--show-bin-path"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()


def run_all(args):
    selected = args.only.split(",") if args.only else [name for name in BENCHES if name != "ble" or args.lab]
    unknown = set(selected) - set(BENCHES)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))} (known: {', '.join(BENCHES)})")
    build_dir = build(args.build_dir)
    env = dict(os.environ, BUILD_DIR=build_dir)
    now = datetime.datetime.now(datetime.timezone.utc)
    result = {
        "id": now.strftime("%Y%m%dT%H%M%SZ"),
        "date": now.isoformat(timespec="seconds"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "machine": {"host": platform.node(), "cores": os.cpu_count(), "kernel": platform.release(),
                    "load_before": os.getloadavg()[0]},
        "mode": "fast" if args.fast else "full",
        "build_dir": build_dir,
        "benchmarks": {},
    }
    failed = []
    for name in selected:
        print(f"== {name}", flush=True)
        code, out, err, seconds, figures = globals()[f"bench_{name}"](args, env)
        for line in out.splitlines():
            if not line.startswith("bench-json: "):
                print(f"   {line}")
        if code != 0:
            failed.append(name)
            print(f"   FAILED (exit {code}): {err.strip().splitlines()[-1:] if err.strip() else ''}")
        result["benchmarks"][name] = {"exit": code, "seconds": round(seconds, 1), "figures": figures,
                                      "output": out[-8000:], "stderr": err[-2000:] if code else ""}
    os.makedirs(args.results, exist_ok=True)
    path = os.path.join(args.results, f"{result['id']}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
    print(f"results: {path}")
    if failed:
        sys.exit(f"benchmark(s) failed: {', '.join(failed)}")


def load(results, ref):
    if os.path.exists(ref):
        path = ref
    else:
        runs = sorted(name for name in os.listdir(results) if name.endswith(".json"))
        if ref in ("latest", "previous"):
            index = -1 if ref == "latest" else -2
            if len(runs) < -index:
                sys.exit(f"not enough runs in {results} for {ref!r}")
            path = os.path.join(results, runs[index])
        else:
            path = os.path.join(results, ref if ref.endswith(".json") else ref + ".json")
    with open(path) as f:
        return json.load(f)


def compare(args):
    a, b = load(args.results, args.a), load(args.results, args.b)
    print(f"A: {a['id']} {a['commit']}{'+' if a.get('dirty') else ''} {a['mode']} on {a['machine']['host']}")
    print(f"B: {b['id']} {b['commit']}{'+' if b.get('dirty') else ''} {b['mode']} on {b['machine']['host']}")
    rows = []
    for bench in sorted(set(a["benchmarks"]) | set(b["benchmarks"])):
        fa = a["benchmarks"].get(bench, {}).get("figures", {})
        fb = b["benchmarks"].get(bench, {}).get("figures", {})
        for key in sorted(set(fa) | set(fb)):
            va, vb = fa.get(key), fb.get(key)
            change = ""
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and va:
                change = f"{(vb - va) / abs(va) * 100:+.1f} %"
            rows.append((f"{bench}.{key}", "-" if va is None else f"{va:g}", "-" if vb is None else f"{vb:g}", change))
    width = max((len(row[0]) for row in rows), default=10)
    print(f"{'figure':<{width}}  {'A':>12}  {'B':>12}  {'B vs A':>9}")
    for name, va, vb, change in rows:
        print(f"{name:<{width}}  {va:>12}  {vb:>12}  {change:>9}")


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `... compare a b | head` ends quietly
    default_results = os.path.join(ROOT, ".build", "bench-results")
    if len(sys.argv) > 1 and sys.argv[1] == "compare":
        parser = argparse.ArgumentParser(prog="scripts/bench/all.sh compare")
        parser.add_argument("a", help="run file, run id, 'latest' or 'previous'")
        parser.add_argument("b", help="run file, run id, 'latest' or 'previous'")
        parser.add_argument("--results", default=default_results)
        compare(parser.parse_args(sys.argv[2:]))
        return
    parser = argparse.ArgumentParser(prog="scripts/bench/all.sh")
    parser.add_argument("--fast", action="store_true", help="shorter runs (a few minutes in all)")
    parser.add_argument("--results", default=default_results, help="directory for run files")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHES)}")
    parser.add_argument("--lab", action="store_true", help="include the BLE lab benchmark (VM, slow)")
    parser.add_argument("--build-dir", help="use these binaries instead of building release")
    run_all(parser.parse_args())


main()
