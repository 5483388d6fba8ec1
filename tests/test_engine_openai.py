"""The openai engine against a REAL OpenAI-compatible server: `transformers serve` on loopback,
serving the tiny demo model. Only the injected HTTP 429 comes from a stand-in: a small proxy at
the HTTP boundary that answers 429 once and forwards everything else to the real server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from builder.engines import Request, load_engine
from builder.engines.openai import cut_at_stop, extra_sample_seed, server_kind, to_completion
from builder.errors import InputError, PsrError

slow = pytest.mark.slow
PROMPT = "Step 1: 3 + 4 = "


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tiny_model_dir(tiny_model_dir, tmp_path_factory):
    """The demo M0 with room for 2048 positions: `transformers serve` (5.25) refuses a prompt plus answer
    beyond config.json's max_position_embeddings (512 here), and the IFT teacher prompt alone is ~570
    tokens. RoPE has no learned positions, so the weights, and every sample, are those of M0."""
    import json
    import shutil

    copy = tmp_path_factory.mktemp("served") / "M0"
    shutil.copytree(tiny_model_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 2048}, indent=1))
    return copy


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    """`transformers serve MODEL` on a free loopback port; yields the base URL (…/v1)."""
    port = free_port()
    exe = Path(sys.executable).parent / "transformers"
    log = open(tmp_path_factory.mktemp("serve") / "serve.log", "w")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.Popen(
        [str(exe), "serve", str(tiny_model_dir), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"transformers serve exited with {proc.returncode}; see {log.name}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("transformers serve did not come up within 120 s")
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    try:
        proc.wait(2)  # uvicorn waits for the generation the timeout test abandoned
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def engine(base_url, model, **settings):
    return load_engine("openai", str(model), {"openai": {"base_url": base_url, **settings}})


# ---- against the real server ---------------------------------------------------------------
@slow
def test_n_samples_seeded_and_usage(server, tiny_model_dir):
    e = engine(server, tiny_model_dir)
    reqs = [Request(PROMPT, n=3, temperature=1.0, top_p=1.0, max_tokens=8, seed=s) for s in (0, 1)]
    out = e.generate(reqs)
    assert e.server == "transformers"  # detected from GET /models
    assert [len(o) for o in out] == [3, 3]
    texts = [c.text for o in out for c in o]
    assert len(set(texts)) == 6  # n really sampled (the server ignores n: extra calls, derived seeds)
    assert all(c.finish_reason in ("length", "eos", "stop") and 0 < c.n_tokens <= 8 for o in out for c in o)
    # token accounting: the server's usage, summed over the 6 HTTP calls
    assert e.usage["completion_tokens"] == sum(c.n_tokens for o in out for c in o)
    assert e.usage["prompt_tokens"] > 0 and e.usage["requests"] == 1 + 6
    again = engine(server, tiny_model_dir).generate(reqs)
    assert [[c.text for c in o] for o in again] == [[c.text for c in o] for o in out]


@slow
def test_greedy_is_asked_once_and_copied(server, tiny_model_dir):
    e = engine(server, tiny_model_dir, server="transformers")
    out = e.generate([Request(PROMPT, n=4, temperature=0.0, max_tokens=5)])
    assert len(out[0]) == 4 and len({c.text for c in out[0]}) == 1
    assert e.usage["requests"] == 1


@slow
def test_stop_string_cut_client_side(server, tiny_model_dir):
    """The server returns the stop string inside the text; the engine cuts before it."""
    e = engine(server, tiny_model_dir, server="transformers")
    for seed in range(20):
        full = e.generate([Request(PROMPT, temperature=1.0, max_tokens=24, seed=seed)])[0][0].text
        stop = _ascii_word(full)
        if stop:
            break
    else:
        pytest.skip("no ASCII word in 20 samples of the random tiny model")
    got = e.generate([Request(PROMPT, temperature=1.0, max_tokens=24, seed=seed, stop=(stop, "\u2603never"))])[0][0]
    assert got.finish_reason == "stop"
    assert got.text == full[: full.index(stop)]
    assert stop not in got.text


@slow
def test_chat_endpoint(server, tiny_model_dir):
    e = engine(server, tiny_model_dir, server="transformers")
    out = e.chat([Request("What is 2 + 2?", max_tokens=4)])
    assert len(out) == 1 and out[0][0].n_tokens == 4 and out[0][0].finish_reason == "length"
    assert e.usage["prompt_tokens"] > 5  # the server's chat template wrapped the message


@slow
def test_retry_on_injected_429(server, tiny_model_dir):
    """Stand-in at the HTTP boundary: a loopback proxy answers the first POST with 429."""
    proxy, seen, stand_in = _proxy_429_once(server)
    try:
        e = engine(proxy, tiny_model_dir, max_retries=3)
        out = e.generate([Request(PROMPT, max_tokens=3)])
        assert out[0][0].n_tokens == 3
        assert seen == ["GET /v1/models 200", "POST /v1/completions 429", "POST /v1/completions 200"]
        assert e.usage["retries"] == 1
    finally:
        stand_in.shutdown()


@slow
def test_init_data_ift_with_the_served_model_as_teacher(server, tiny_model_dir, tmp_path):
    """The whole IFT job through the chat endpoint: openai:BASE_URL@MODEL as ENGINE_SPEC."""
    from builder.initdata import jobs
    from tests.helpers import invoke, make_run
    from tests.test_initdata_ift import _source_file

    run = make_run(tmp_path)
    src = _source_file(tmp_path, n=2)
    res = invoke("init-data", "ift", "--run", run.root, src, "--teacher", f"openai:{server}@{tiny_model_dir}",
                 "--field", "problem=question", "--field", "solution=worked", "--max-tokens", "8")
    assert res.exit_code == 0, res.output
    counts = jobs.read_jsonl(jobs.log_path(run, "ift"))
    asked = [r for r in counts if r["reason"] != "source_no_boxed"]
    assert len(asked) == 2 and all(r["reason"] == "truncated" for r in asked)  # 8 tokens cannot hold a split
    assert all(isinstance(r["teacher_output"], str) for r in asked)


@slow
def test_init_data_eft_with_the_served_model_as_policy(server, tiny_model_dir, tmp_path):
    """The EFT job's search and rollouts through /completions (stop "\nStep ", n samples).
    `transformers serve` returns no logprobs, so the policy's self-judging uses parsed verdicts (the
    demo preset's forced verdicts are refused with exit 2 there: test_server_without_logprobs_...)."""
    import json

    from builder.initdata import jobs
    from tests.helpers import invoke, make_run

    run = make_run(tmp_path, "demo", "search.width=2", "search.max_steps=1", "search.mcts.simulations=1",
                   "search.max_step_tokens=6", "search.judge_max_tokens=4", "search.verdict=parse")
    res = invoke("init-data", "eft", "--run", run.root, "--teacher", f"hf:{tiny_model_dir}",
                 "--policy", f"openai:{server}@{tiny_model_dir}", "--limit", 1, "--rollouts", 1,
                 "--rollout-max-tokens", 6, "--judge-max-tokens", 4)
    assert res.exit_code == 0, res.output
    k = json.loads(jobs.summary_path(run, "eft").read_text())["counts"]
    assert k["problems"] == 1 and k["sites"] == 1 and k["candidates"] == 2
    assert k["sites"] == k["single"] + k["tied"] + k["pairs"]
    assert json.loads(jobs.summary_path(run, "eft").read_text())["policy"] == f"openai:{server}@{tiny_model_dir}"


@slow
def test_timeout_fails_with_one_line_error_after_retries(server, tiny_model_dir):
    """Last in the module: the server keeps generating what the client gave up on."""
    e = engine(server, tiny_model_dir, server="transformers", timeout=0.3, max_retries=1)
    t0 = time.time()
    with pytest.raises(PsrError) as info:
        e.generate([Request(PROMPT, max_tokens=400)])
    msg = str(info.value)
    assert "\n" not in msg and "failed after 2 attempt(s)" in msg and "timeout 0.3s" in msg
    assert e.usage["retries"] == 1 and time.time() - t0 < 10


# ---- pure parts (no server) ------------------------------------------------------------------
def test_finish_reason_mapping():
    stop = ("\nStep ",)
    # transformers serve: stop string inside the text
    c = to_completion({"text": "Step 1: 2\nStep 2", "finish_reason": "stop"}, stop, 5, chat=False)
    assert (c.text, c.finish_reason) == ("Step 1: 2", "stop")
    # vLLM: stop string excluded, named in stop_reason
    c = to_completion({"text": "Step 1: 2", "finish_reason": "stop", "stop_reason": "\nStep "}, stop, 5, chat=False)
    assert (c.text, c.finish_reason) == ("Step 1: 2", "stop")
    # EOS: "stop" with no stop string anywhere
    c = to_completion({"text": "\\boxed{4}", "finish_reason": "stop", "stop_reason": None}, stop, 5, chat=False)
    assert c.finish_reason == "eos"
    c = to_completion({"message": {"content": "abc"}, "finish_reason": "length"}, stop, 3, chat=True)
    assert (c.text, c.finish_reason) == ("abc", "length")


def test_cut_at_stop_takes_the_earliest():
    assert cut_at_stop("a X b Y c", ("Y", "X")) == "a "
    assert cut_at_stop("abc", ()) == "abc"


def test_server_kind_and_seeds():
    assert server_kind({"data": [{"id": "m", "owned_by": "vllm"}]}) == "vllm"
    assert server_kind({"data": [{"id": "m", "owned_by": "local", "status": {"value": "loaded"}}]}) == "transformers"
    assert server_kind({"data": [{"id": "gpt", "owned_by": "openai"}]}) == "openai"
    assert extra_sample_seed(1, 1) == extra_sample_seed(1, 1) != extra_sample_seed(1, 2)


def test_unknown_setting_is_an_input_error():
    with pytest.raises(InputError, match="top_k"):
        load_engine("openai", "m", {"openai": {"top_k": 3}})


def test_connection_refused_is_retried_then_one_line():
    e = load_engine("openai", "m", {"openai": {"base_url": f"http://127.0.0.1:{free_port()}/v1",
                                               "max_retries": 2, "server": "vllm"}})
    with pytest.raises(PsrError, match="failed after 3 attempt"):
        e.generate([Request("x")])
    assert e.usage["retries"] == 2


# ---- helpers -----------------------------------------------------------------------------------
def _ascii_word(text: str) -> str | None:
    """A 3-letter ASCII run whose first occurrence starts after position 2 (so some text precedes it)."""
    for i in range(3, len(text) - 2):
        w = text[i:i + 3]
        if w.isascii() and w.isalpha() and text.find(w) == i:
            return w
    return None


def _proxy_429_once(upstream: str):
    """Loopback proxy: first POST gets 429 (Retry-After: 0); the rest go to the real server."""
    seen: list[str] = []
    state = {"failed": False}
    root = upstream.rsplit("/v1", 1)[0]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _forward(self, method):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else None
            if method == "POST" and not state["failed"]:
                state["failed"] = True
                seen.append(f"{method} {self.path} 429")
                self._reply(429, b'{"error": "rate limited"}', {"Retry-After": "0"})
                return
            req = urllib.request.Request(root + self.path, data=body, method=method,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as resp:
                data, code = resp.read(), resp.status
            seen.append(f"{method} {self.path} {code}")
            self._reply(code, data, {})

        def _reply(self, code, data, headers):
            self.send_response(code)
            for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)), **headers}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._forward("GET")

        def do_POST(self):
            self._forward("POST")

    stand_in = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{stand_in.server_address[1]}/v1", seen, stand_in


def test_text_pair_logprobs_reads_top_logprobs_by_token_text():
    from builder.engines.openai import text_pair_logprobs

    assert text_pair_logprobs({"A": -0.2, "B": -1.9, " A": -3.0}, ("A", "B")) == (-0.2, -1.9)
    assert text_pair_logprobs({"B": -0.1, "x": -5.0}, ("A", "B")) == (-5.0, -0.1)  # missing: the lowest listed


@slow
def test_server_without_logprobs_is_an_input_error_naming_the_setting(server, tiny_model_dir):
    from builder.engines import TokenPair

    e = engine(server, tiny_model_dir)
    with pytest.raises(InputError, match=r"returns no logprobs on /completions; search.verdict"):
        e.check_scoring(TokenPair((35, 36), ("A", "B")))
