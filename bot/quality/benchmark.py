"""`make bench`: this assistant against a stock `rasa init` assistant, side by side.

Both are started fresh in this run on this machine: ours as `make run` does
(SQLite tracker store and tables, action server and outbox worker on), the
stock one from `rasa init` in a temporary folder (its default config,
in-memory tracker store). Both get the same closed-loop load over the REST
channel: 1, 10 and 50 concurrent senders, each waiting for its reply before
sending the next message; each load runs twice per server, in the order
ours, stock, stock, ours, so that drift in machine speed falls on both alike.
Then this assistant alone gets 200 concurrent senders (p50/p95/p99, errors).
Printed: p50/p95/p99 latency, messages per second,
errors, resident memory, start-up time, the ratios, the `/model/parse` floor,
the crisis-rule and sentence-encoder cost per message, training times, and
how a turn's cost grows in one long conversation (turns 2-6 against 24-28).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import requests

from bot.config import PROJECT_ROOT

MESSAGES = [
    "hello",
    "what are the side effects of ketamine",
    "how much does an infusion cost",
    "is ketamine addictive",
    "how quickly does it work",
    "thanks",
]
CONCURRENCY = (1, 10, 50)
# One more load, on this assistant only: 200 concurrent senders (what one replica
# sustains; scale out with replicas beyond it, README "Deploy").
HIGH_LOAD = 200
HIGH_LOAD_MIN_REQUESTS = 5
TOKEN = "bench-token"


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    startup_seconds: float
    results: dict[int, dict] = field(default_factory=dict)
    parse_ms: float = 0.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode}")
        try:
            requests.post(
                f"{url}/webhooks/rest/webhook",
                json={"sender": "warmup", "message": "hi"},
                timeout=5,
            ).raise_for_status()
            return
        except requests.RequestException:
            time.sleep(0.25)
    raise TimeoutError(url)


async def closed_loop(url: str, senders: int, per_sender: int) -> dict:
    latencies: list[float] = []
    errors = silent = 0

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal errors, silent
        sender_id = f"bench-{uuid.uuid4().hex[:10]}"
        for n in range(per_sender):
            started = time.perf_counter()
            try:
                async with session.post(
                    f"{url}/webhooks/rest/webhook",
                    json={"sender": sender_id, "message": MESSAGES[n % len(MESSAGES)]},
                ) as response:
                    body = await response.json()
                    if response.status != 200:
                        errors += 1
                    elif not body:
                        silent += 1  # answered 200 with no message
            except (aiohttp.ClientError, asyncio.TimeoutError):
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)

    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=senders)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(sender(session) for _ in range(senders)))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "elapsed": elapsed, "errors": errors, "silent": silent}


def summarise(rounds: list[dict]) -> dict:
    """Latency percentiles and throughput over all rounds of one server and load."""
    latencies = [ms for r in rounds for ms in r["latencies"]]
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "p50": statistics.median(latencies),
        "p95": quantiles[94],
        "p99": quantiles[98],
        "rps": len(latencies) / sum(r["elapsed"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "silent": sum(r["silent"] for r in rounds),
        "messages": len(latencies),
    }


def parse_floor_ms(url: str, count: int = 200) -> float:
    session = requests.Session()
    started = time.perf_counter()
    for n in range(count):
        session.post(
            f"{url}/model/parse",
            params={"token": TOKEN},
            json={"text": MESSAGES[n % len(MESSAGES)]},
            timeout=30,
        ).raise_for_status()
    return (time.perf_counter() - started) * 1000 / count


def crisis_cost_us() -> float:
    from bot.safety.evaluate import load_eval_set
    from bot.safety.patterns import detect_crisis

    crisis, not_crisis = load_eval_set(PROJECT_ROOT / "tests" / "data" / "crisis_eval.yml")
    texts = (crisis + not_crisis) * 5
    started = time.perf_counter()
    for text in texts:
        detect_crisis(text)
    return (time.perf_counter() - started) * 1e6 / len(texts)


def rasa_bin() -> str:
    return str(Path(sys.executable).with_name("rasa"))


def env_for(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
    env.update(extra)
    return env


def train_ours(out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [rasa_bin(), "train", "--force", "--fixed-model-name", "clinic", "--out", str(out)],
        cwd=PROJECT_ROOT,
        env=env_for({"PYTHONPATH": str(PROJECT_ROOT)}),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def init_stock(directory: Path) -> float:
    """`rasa init` (which trains the stock model); returns its training time."""
    started = time.perf_counter()
    subprocess.run(
        [rasa_bin(), "init", "--no-prompt", "--init-dir", str(directory)],
        cwd=directory,
        env=env_for({}),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def start_ours(work: Path, log: Path) -> Server:
    rasa_port, action_port = free_port(), free_port()
    env = env_for(
        {
            "DATABASE_URL": f"sqlite:///{work / 'clinic.db'}",
            "RASA_PORT": str(rasa_port),
            "ACTION_PORT": str(action_port),
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
            "RASA_API_TOKEN": TOKEN,
            "PYTHONPATH": str(PROJECT_ROOT),
        }
    )
    for command in (["db", "upgrade"], ["content", "load"]):
        subprocess.run(
            [sys.executable, "-m", "bot", *command],
            cwd=PROJECT_ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{rasa_port}"
    wait_until_up(url, process)
    return Server("this assistant", url, process, time.perf_counter() - started)


def start_stock(directory: Path, log: Path) -> Server:
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [rasa_bin(), "run", "--port", str(port), "--enable-api", "--auth-token", TOKEN],
        cwd=directory,
        env=env_for({}),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url, process)
    return Server("stock rasa init", url, process, time.perf_counter() - started)


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()


def encoder_cost_ms(count: int = 200) -> float:
    """Median cost of embedding one message (bot/nlu/sentence_encoder.py), in-process."""
    from bot.nlu.sentence_encoder import Encoder

    encoder = Encoder.load()
    encoder.encode(["warm up"])
    times = []
    for n in range(count):
        started = time.perf_counter()
        encoder.encode([MESSAGES[n % len(MESSAGES)]])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def crisis_model_cost_us(model: Path, count: int = 500) -> float:
    """Median cost of the crisis model on one embedded message: its score and its neighbours."""
    import tarfile
    import tempfile

    from bot.nlu.linear_text import MODEL_FILE, read_model
    from bot.nlu.sentence_encoder import Encoder
    from bot.safety.component import NEIGHBOURS_FILE, CrisisNeighbours

    with tarfile.open(model) as archive, tempfile.TemporaryDirectory() as directory:
        members = [m for m in archive.getmembers() if "CrisisOverride" in m.name and m.isfile()]
        archive.extractall(directory, members=members)
        files = {path.name: path for path in Path(directory).rglob("*") if path.is_file()}
        scorer = read_model(files[MODEL_FILE])
        neighbours = CrisisNeighbours.read(files[NEIGHBOURS_FILE])
    embeddings = Encoder.load().encode(MESSAGES)
    times = []
    for n in range(count):
        text, dense = MESSAGES[n % len(MESSAGES)], embeddings[n % len(MESSAGES)]
        started = time.perf_counter()
        scorer.probabilities(text, dense)
        neighbours.share(dense)
        times.append((time.perf_counter() - started) * 1e6)
    return statistics.median(times)


def turn_growth_ms(url: str, turns: int = 30) -> tuple[float, float]:
    """Mean latency of turns 2-6 and 24-28 of one long conversation (one sender)."""
    session = requests.Session()
    sender = f"bench-long-{uuid.uuid4().hex[:8]}"
    latencies = []
    for n in range(turns):
        started = time.perf_counter()
        session.post(
            f"{url}/webhooks/rest/webhook",
            json={"sender": sender, "message": MESSAGES[n % len(MESSAGES)]},
            timeout=60,
        ).raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return statistics.mean(latencies[1:6]), statistics.mean(latencies[23:28])


def report(
    ours: Server,
    stock: Server,
    training: dict[str, float],
    crisis_us: float,
    encoder_ms: float,
    crisis_model_us: float,
) -> str:
    lines = [
        f"{'':24s}{'this assistant':>18s}{'stock rasa init':>18s}{'ratio':>10s}",
        f"{'start-up (s)':24s}{ours.startup_seconds:18.1f}{stock.startup_seconds:18.1f}"
        f"{ours.startup_seconds / stock.startup_seconds:10.2f}",
        f"{'training (s)':24s}{training['ours']:18.1f}{training['stock']:18.1f}"
        f"{training['ours'] / training['stock']:10.2f}",
        f"{'/model/parse (ms)':24s}{ours.parse_ms:18.1f}{stock.parse_ms:18.1f}"
        f"{ours.parse_ms / stock.parse_ms:10.2f}",
    ]
    for senders in CONCURRENCY:
        a, b = ours.results[senders], stock.results[senders]
        for key, label in (
            ("p50", "p50 ms"),
            ("p95", "p95 ms"),
            ("p99", "p99 ms"),
            ("rps", "msg/s"),
        ):
            lines.append(
                f"{f'{senders:>2d} senders {label}':24s}{a[key]:18.1f}{b[key]:18.1f}"
                f"{a[key] / b[key]:10.2f}"
            )
        lines.append(f"{f'{senders:>2d} senders errors':24s}{a['errors']:18d}{b['errors']:18d}")
        lines.append(f"{f'{senders:>2d} senders no reply':24s}{a['silent']:18d}{b['silent']:18d}")
    lines.append(
        f"{'resident memory (MB)':24s}{ours.results['rss']:18.0f}{stock.results['rss']:18.0f}"
        f"{ours.results['rss'] / stock.results['rss']:10.2f}"
    )
    high = ours.results.get(HIGH_LOAD)
    if high:
        lines.append(
            f"{HIGH_LOAD} senders (this assistant only): p50 {high['p50']:.0f} ms, "
            f"p95 {high['p95']:.0f} ms, p99 {high['p99']:.0f} ms, {high['rps']:.1f} msg/s, "
            f"errors {high['errors']}, no reply {high['silent']} ({high['messages']} messages)"
        )
    lines.append(f"crisis pattern layer: {crisis_us:.0f} µs per message")
    lines.append(f"sentence encoder: {encoder_ms:.1f} ms per message (median, in-process)")
    lines.append(
        f"crisis model (score + neighbours): {crisis_model_us:.0f} µs per message (median)"
    )
    for server in (ours, stock):
        short, long = server.results["growth"]
        lines.append(
            f"{server.name}: one conversation, turns 2-6 {short:.1f} ms, turns 24-28 "
            f"{long:.1f} ms (x{long / short:.2f})"
        )
    a10, b10 = ours.results[10], stock.results[10]
    a50, b50 = ours.results[50], stock.results[50]
    a1, b1 = ours.results[1], stock.results[1]
    lines.append(
        "targets: throughput x{:.2f} at 10 and x{:.2f} at 50 senders (>= 2), "
        "single-sender p50 x{:.2f} (<= 0.6), errors {}".format(
            a10["rps"] / b10["rps"],
            a50["rps"] / b50["rps"],
            a1["p50"] / b1["p50"],
            sum(ours.results[c]["errors"] for c in CONCURRENCY),
        )
    )
    return "\n".join(lines)


def main(requests_per_sender: int = 20) -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    stock_dir = work / "stock"
    stock_dir.mkdir()
    print("training both models (ours, and the stock one through `rasa init`)...", flush=True)
    training = {"ours": train_ours(work / "models"), "stock": init_stock(stock_dir)}
    servers: list[Server] = []
    try:
        ours = start_ours(work, work / "ours.log")
        servers.append(ours)
        stock = start_stock(stock_dir, work / "stock.log")
        servers.append(stock)
        for server in servers:
            server.parse_ms = parse_floor_ms(server.url)
        # Rounds in the order A B B A for each load, so that a machine that
        # gets slower or faster during the run affects both servers alike.
        for senders in CONCURRENCY:
            rounds: dict[str, list[dict]] = {server.name: [] for server in servers}
            for server in (ours, stock, stock, ours):
                print(f"{server.name}: {senders} senders...", flush=True)
                rounds[server.name].append(
                    asyncio.run(closed_loop(server.url, senders, requests_per_sender))
                )
            for server in servers:
                server.results[senders] = summarise(rounds[server.name])
        per_sender = max(requests_per_sender // 4, HIGH_LOAD_MIN_REQUESTS)
        print(f"{ours.name}: {HIGH_LOAD} senders...", flush=True)
        ours.results[HIGH_LOAD] = summarise(
            [asyncio.run(closed_loop(ours.url, HIGH_LOAD, per_sender))]
        )
        for server in servers:
            server.results["growth"] = turn_growth_ms(server.url)
            server.results["rss"] = tree_rss_mb(server.process.pid)
        crisis_model_us = crisis_model_cost_us(work / "models" / "clinic.tar.gz")
        print(report(ours, stock, training, crisis_cost_us(), encoder_cost_ms(), crisis_model_us))
    finally:
        for server in servers:
            stop(server)
        shutil.rmtree(work, ignore_errors=True)
    return 0
