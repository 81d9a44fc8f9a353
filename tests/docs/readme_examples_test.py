#!/usr/bin/env python3
"""Runs the README's curl examples, as written, against the demo.

Every ```sh block of README.md whose lines are all curl commands against the demo's ports
(proxy localhost:8080, admin localhost:9901) is run in order against a fresh proxy started with
conf/demo.toml and the demo's four backends (blue: 8081, 8082; green: 8083, 8084), so the
examples a reader copies answer as the README says. A block that needs another configuration
names it in an HTML comment on the line before it: `<!-- readme-test: conf/mirror.toml -->`.
Blocks that start processes, or speak to other ports, are left out (other tests cover them).

What is checked, per command:
  - the status: 2xx, or the one given in a comment line right below (`# 404 {...}`);
  - an inline comment that is just a pool name (`# blue`, `# green (X-Served-By: green)`):
    the answer contains that name.
A pipe to jq is cut off (jq need not be installed); the curl before it must succeed.

The ports are rewritten to free ones so the test can run next to others; the demo's fixed ports
are only ever names here.

Usage: readme_examples_test.py --binary build/switchyard [--readme README.md]
"""

import argparse
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

DEMO_PORTS = [8080, 8081, 8082, 8083, 8084, 9901]
BACKENDS = [("blue", 8081), ("blue", 8082), ("green", 8083), ("green", 8084)]
MARKER = re.compile(r"<!--\s*readme-test:\s*(\S+)\s*-->")
POOL_COMMENT = re.compile(r"^(blue|green)\b(\s*\(.*\))?$")
STATUS_COMMENT = re.compile(r"^#\s*([1-5]\d\d)\b")


def free_ports(count):
    sockets, ports = [], []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


class Example:
    def __init__(self, line_number, command, inline_comment):
        self.line_number = line_number
        self.command = command
        self.inline_comment = inline_comment
        self.expected_status = None


def split_comment(line):
    """'curl x   # blue' -> ('curl x', 'blue'); a '#' inside quotes is not a comment."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def parse_blocks(readme_text):
    """Yields (config, [Example]) for every block that is only curl against the demo."""
    lines = readme_text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```sh":
            i += 1
            continue
        config = "conf/demo.toml"
        if i > 0:
            marker = MARKER.search(lines[i - 1])
            if marker:
                config = marker.group(1)
        start = i + 1
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        block = lines[start:end]
        i = end + 1
        examples, testable = [], True
        pending = ""
        for offset, raw in enumerate(block):
            number = start + offset + 1
            stripped = raw.strip()
            if not stripped:
                continue
            if stripped.startswith("#") and not pending:
                if examples:
                    status = STATUS_COMMENT.match(stripped)
                    if status and examples[-1].expected_status is None:
                        examples[-1].expected_status = int(status.group(1))
                continue
            text = pending + " " + stripped if pending else stripped
            if text.endswith("|") or text.endswith("\\"):
                pending = text.rstrip("\\").rstrip()
                continue
            pending = ""
            command, comment = split_comment(text)
            command = command.split(" | ")[0].rstrip(" |")
            if not command.startswith("curl ") or not re.search(
                r"(localhost|127\.0\.0\.1):(8080|9901)\b", command
            ) or "https://" in command:
                testable = False
                break
            examples.append(Example(number, command, comment))
        if testable and examples:
            yield config, examples


class Demo:
    """The demo's four backends and a proxy, on free ports."""

    def __init__(self, binary, config_path, workdir):
        self.processes = []
        self.port_map = dict(zip(DEMO_PORTS, free_ports(len(DEMO_PORTS))))
        text = open(config_path).read()
        text = self.rewrite(text)
        # A state file of the example would outlive the test: keep it in the scratch dir.
        text = re.sub(r'state_file\s*=\s*"[^"]*"',
                      f'state_file = "{os.path.join(workdir, "state.json")}"', text)
        config = os.path.join(workdir, "switchyard.toml")
        with open(config, "w") as f:
            f.write(text)
        log = open(os.path.join(workdir, "processes.log"), "ab")
        for name, port in BACKENDS:
            self.processes.append(subprocess.Popen(
                [binary, "backend", "--name", name, "--listen",
                 f"127.0.0.1:{self.port_map[port]}"], stdout=log, stderr=log))
        self.processes.append(subprocess.Popen([binary, "-c", config], stdout=log, stderr=log))
        self.wait_ready()

    def rewrite(self, text):
        for demo_port, port in self.port_map.items():
            text = re.sub(rf"(localhost|127\.0\.0\.1):{demo_port}\b", rf"\g<1>:{port}", text)
        return text

    def wait_ready(self):
        # Generous: a loaded CI machine, maybe under ASan.
        deadline = time.monotonic() + 60
        url = f"http://127.0.0.1:{self.port_map[8080]}/"
        admin = f"http://127.0.0.1:{self.port_map[9901]}/readyz"
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(admin, timeout=5).read()
                urllib.request.urlopen(url, timeout=5).read()
                return
            except Exception:
                for p in self.processes:
                    if p.poll() is not None:
                        raise RuntimeError(f"a demo process exited with {p.returncode}")
                time.sleep(0.05)
        raise RuntimeError("the demo did not answer within 60 s")

    def stop(self):
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run_example(demo, example, workdir):
    body_file = os.path.join(workdir, "body")
    args = shlex.split(demo.rewrite(example.command), posix=True)
    # The demo has no admin token: an example's $SWITCHYARD_ADMIN_TOKEN expands to "".
    token = os.environ.get("SWITCHYARD_ADMIN_TOKEN", "")
    args = [a.replace("$SWITCHYARD_ADMIN_TOKEN", token) for a in args]
    argv = ["curl", "-sS", "--max-time", "150", "-o", body_file, "-w", "%{http_code}"] + args[1:]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    status = int(result.stdout.strip() or 0)
    body = open(body_file, errors="replace").read() if os.path.exists(body_file) else ""
    problems = []
    if example.expected_status is not None:
        if status != example.expected_status:
            problems.append(f"status {status}, the README says {example.expected_status}")
    elif not 200 <= status < 300:
        problems.append(f"status {status}: {body.strip()[:300]} {result.stderr.strip()}")
    pool = POOL_COMMENT.match(example.inline_comment)
    if pool and pool.group(1) not in body:
        problems.append(f"the answer does not contain {pool.group(1)!r}: {body.strip()[:300]}")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--readme", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                         "README.md"))
    options = parser.parse_args()
    root = os.path.dirname(os.path.abspath(options.readme))
    blocks = list(parse_blocks(open(options.readme).read()))
    if len(blocks) < 4:
        print(f"FAIL: only {len(blocks)} runnable example blocks found in the README")
        return 1
    failures, ran = [], 0
    for config, examples in blocks:
        with tempfile.TemporaryDirectory() as workdir:
            demo = Demo(options.binary, os.path.join(root, config), workdir)
            try:
                for example in examples:
                    ran += 1
                    for problem in run_example(demo, example, workdir):
                        failures.append(f"README.md:{example.line_number}: {example.command}: "
                                        f"{problem}")
            finally:
                demo.stop()
    print(f"{ran} README examples in {len(blocks)} blocks, {len(failures)} failed")
    for failure in failures:
        print("FAIL " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
