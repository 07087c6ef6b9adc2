#!/usr/bin/env python3
"""clang-tidy over src/**/*.cc, skipping files already found clean.

Usage: ops/lint_cached.py BUILD_DIR CACHE_DIR JOBS CLANG_TIDY CLANG_CXX

Run by `ops/dev lint`. Reads BUILD_DIR/compile_commands.json and lints every
entry under <repo>/src/ with CLANG_TIDY (-p BUILD_DIR, -quiet), JOBS at a
time, printing each file's findings; exits 1 if any file has findings (the
checks in .clang-tidy are all errors).

A file that came out clean is remembered in CACHE_DIR under a key made of
everything its result depends on: clang-tidy's version, .clang-tidy, the
file's path in the repository, its compile flags, and the file as CLANG_CXX
preprocesses it with those flags (so every header it includes, the
project's and the system's, counts with its content). The next run lints
only files whose key is new. Paths under the repository are written
relative to it, so another clone on the same machine shares the cache. A
file with findings is never remembered.
"""

import concurrent.futures
import hashlib
import json
import os
import shlex
import subprocess
import sys


def compile_args(entry):
    if "arguments" in entry:
        return list(entry["arguments"])
    return shlex.split(entry["command"])


def preprocess_args(args, clang_cxx, source):
    """The compile command turned into `clang -E` writing to stdout."""
    rest = args[1:]
    if os.path.basename(args[0]) == "ccache":  # a launcher before the compiler
        rest = rest[1:]
    out = [clang_cxx]
    skip = False
    for a in rest:
        if skip:
            skip = False
        elif a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
        elif a not in ("-c", "-MD", "-MMD", source):
            out.append(a)
    return out + ["-E", "-Wno-unknown-warning-option", source]


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    build_dir, cache_dir, jobs, clang_tidy, clang_cxx = sys.argv[1:]
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = os.path.join(repo, "src") + os.sep
    with open(os.path.join(build_dir, "compile_commands.json")) as f:
        entries = [e for e in json.load(f)
                   if os.path.join(e["directory"], e["file"]).startswith(src)
                   and e["file"].endswith(".cc")]
    if not entries:
        sys.exit("lint_cached.py: no src/**/*.cc in %s/compile_commands.json" % build_dir)
    os.makedirs(cache_dir, exist_ok=True)
    version = subprocess.run([clang_tidy, "--version"], capture_output=True, text=True).stdout
    with open(os.path.join(repo, ".clang-tidy"), "rb") as f:
        config = f.read()

    def relative(text):
        return text.replace(repo, "<repo>")

    def key_of(entry):
        source = os.path.join(entry["directory"], entry["file"])
        args = compile_args(entry)
        pre = subprocess.run(preprocess_args(args, clang_cxx, source), cwd=entry["directory"],
                             capture_output=True)
        if pre.returncode != 0:
            return None  # lint it; clang-tidy will say what is wrong
        h = hashlib.sha256()
        for part in (version.encode(), config, relative(source).encode(),
                     relative(" ".join(args)).encode(), relative(pre.stdout.decode(
                         errors="surrogateescape")).encode(errors="surrogateescape")):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        return h.hexdigest()

    def lint(entry):
        source = os.path.join(entry["directory"], entry["file"])
        key = key_of(entry)
        marker = os.path.join(cache_dir, key) if key else None
        if marker and os.path.exists(marker):
            return source, True, True, ""
        p = subprocess.run([clang_tidy, "-quiet", "-p", build_dir,
                            "-extra-arg=-Wno-unknown-warning-option", source],
                           capture_output=True, text=True)
        text = "\n".join(line for line in (p.stdout + p.stderr).splitlines()
                         if not line.endswith("warnings generated.")
                         and not line.endswith("warning generated."))
        clean = p.returncode == 0
        if clean and marker:
            with open(marker, "w"):
                pass
        return source, clean, False, text

    findings = 0
    cached = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
        for source, clean, hit, text in pool.map(lint, entries):
            cached += hit
            if text.strip():
                print(text.strip(), flush=True)
            if not clean:
                findings += 1
                print("lint_cached.py: findings in %s" % os.path.relpath(source, repo), flush=True)
    print("lint_cached.py: %d files, %d clean from the cache (%s), %d linted, %d with findings"
          % (len(entries), cached, cache_dir, len(entries) - cached, findings), flush=True)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
