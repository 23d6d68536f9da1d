# The README's commands. Everything a fresh Debian 12 machine lacks is set up by the scripts in cmake/.
# WSD_HOME (where downloads and llama.cpp builds are kept) and the default pair's names: cmake/wsd-home.sh.
export WSD_HOME := $(shell . cmake/wsd-home.sh && echo "$$WSD_HOME")
WSD_WEAK_MODEL := $(shell . cmake/wsd-home.sh && echo "$$WSD_WEAK_MODEL")
WSD_STRONG_MODEL := $(shell . cmake/wsd-home.sh && echo "$$WSD_STRONG_MODEL")
# llama.cpp's backend: cpu (the default), vulkan or cuda; each has its own llama.cpp build under
# WSD_HOME and its own build folder here, so that they coexist.
export WSD_LLAMA_BACKEND ?= cpu
BUILD ?= $(if $(filter cpu,$(WSD_LLAMA_BACKEND)),build,build-$(WSD_LLAMA_BACKEND))
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all docs deps llama models models-large configure build test test-gpu test-large unit-test demo bench bench-large serve serve-wsd server sanitize tsan fuzz clean

all: build

deps:
	bash cmake/install-deps.sh

llama: deps
	bash cmake/setup-llama.sh >/dev/null

models:
	bash cmake/fetch-models.sh >/dev/null

# The Qwen2.5-Coder 0.5B / 1.5B Instruct pair (one tokenizer, 3x apart; ~1.6 GB): --pair qwen, smol-qwen.
models-large:
	bash cmake/fetch-models.sh --large >/dev/null

configure: llama
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$$(bash cmake/setup-llama.sh)" -DWSD_HTTPLIB_DIR="$$(bash cmake/setup-httplib.sh)" $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

# llama-cpp-python's OpenAI-compatible server on the same llama.cpp build.
server: llama
	bash cmake/setup-server.sh >/dev/null

# Serves a fetched model (MODEL=strong: Gemma-3-270M, the default; MODEL=weak: SmolLM2) with
# llama-cpp-python's OpenAI-compatible server at http://127.0.0.1:$(PORT)/v1, in the foreground
# (Ctrl-C stops it). wsd-generate --strong-url http://127.0.0.1:$(PORT)/v1 uses it. Concurrent
# requests must not interrupt each other's streams; SERVE_FLAGS adds the server's own flags
# (e.g. "--n_batch 1 --n_ubatch 1 --flash_attn true" for batch-invariant scores).
PORT ?= 8089
MODEL ?= strong
SERVE_FLAGS ?=
serve: server models
	@case "$(MODEL)" in strong) f=$(WSD_STRONG_MODEL);; weak) f=$(WSD_WEAK_MODEL);; \
	  *) echo "make serve: MODEL=$(MODEL) is not strong or weak" >&2; exit 2;; esac; \
	exec "$$(bash cmake/setup-server.sh)/bin/python" -m llama_cpp.server --model "$(WSD_HOME)/models/$$f" \
	  --host 127.0.0.1 --port $(PORT) --n_ctx 4096 --interrupt_requests false $(SERVE_FLAGS)

# wsd-server on the fetched pair at http://127.0.0.1:$(WSD_PORT)/v1 (OpenAI's chat completions API), in
# the foreground (Ctrl-C stops it); WSD_SERVER_FLAGS adds its flags (e.g. --parallel 4 --threshold 0.7).
WSD_PORT ?= 8090
WSD_SERVER_FLAGS ?=
serve-wsd: configure models
	cmake --build $(BUILD) -j$(JOBS) --target wsd-server
	$(BUILD)/bin/wsd-server --port $(WSD_PORT) $(WSD_SERVER_FLAGS)

# The whole suite: unit tests (no models needed), the model tests (label "models") and the
# server tests (label "server"); not the larger pair's (test-large) nor the GPU suite (test-gpu).
# One test per core: those that run llama.cpp on every core run alone (tests/CMakeLists.txt).
test: build models server
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -LE 'models-large|gpu'

# The GPU suite (label "gpu") on llama.cpp's Vulkan backend, every layer of both models on the
# Vulkan device: Mesa's software device (llvmpipe) where there is no GPU, as llama.cpp's own CI.
# Its own llama.cpp build (WSD_HOME/venv-vulkan) and build folder (build-vulkan).
test-gpu: deps models
	$(MAKE) --no-print-directory WSD_LLAMA_BACKEND=vulkan BUILD=build-vulkan configure
	cmake --build build-vulkan -j$(JOBS) --target wsd_gpu_tests wsd-generate
	cd build-vulkan && ctest --output-on-failure -j1 -L gpu

# docs/flags.md from the tools' --help (make test checks that it is what they print).
docs: build
	cmake -DTOOLS="$(BUILD)/bin/wsd-generate|$(BUILD)/bin/wsd-server|$(BUILD)/bin/wsd-bench" -DOUT=docs/flags.md -P cmake/tool-flags.cmake

# The larger pair's tests (label "models-large").
test-large: build models-large
	cd $(BUILD) && ctest --output-on-failure -j1 -L models-large

# Only the tests that need no models.
unit-test: build
	cd $(BUILD) && ctest --output-on-failure -LE 'models|server'

# Builds only the tool it runs (not the test suite).
demo: configure models
	cmake --build $(BUILD) -j$(JOBS) --target wsd-generate
	$(BUILD)/bin/wsd-generate --input examples/demo-prompts.jsonl --max-tokens 160 --draft-max-tokens 128

bench: build models
	$(BUILD)/bin/wsd-microbench --benchmark_min_time=0.2
	$(BUILD)/bin/wsd-bench --input examples/prompts.jsonl --out bench-out --parallel 0
	$(BUILD)/bin/wsd-bench --input examples/prompts.jsonl --out bench-out/throughput --throughput-only --limit 8 --repeats 1 --parallel 1,2,4,8
	$(BUILD)/bin/wsd-bench --input examples/prompts.jsonl --out bench-out/reference-defaults --reference-defaults --limit 2 --repeats 3 --parallel 0
	python3 benchmarks/wsd_server_bench.py $(BUILD)/bin examples/prompts.jsonl bench-out/server --limit 8 --clients 1,4,8

# The harness on both larger pairs: 6 prompts, draft 128 / total 256, median of 3.
bench-large: build models models-large
	$(BUILD)/bin/wsd-bench --pair qwen --input examples/prompts.jsonl --limit 6 --repeats 3 --parallel 0 --out bench-out/qwen
	$(BUILD)/bin/wsd-bench --pair smol-qwen --input examples/prompts.jsonl --limit 6 --repeats 3 --parallel 0 --out bench-out/smol-qwen

# AddressSanitizer and UndefinedBehaviorSanitizer over the unit tests (the server-fault tests run
# under ThreadSanitizer: make tsan).
sanitize: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DWSD_SANITIZE=ON -DWSD_WITH_LLAMA=OFF -DWSD_BUILD_BENCHMARKS=OFF
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(JOBS) -LE 'models|server'

# ThreadSanitizer over the unit tests (the engine loop's and the decode loop's among them) and the
# server-fault tests (the loop's HTTP engine against a real llama-cpp-python server).
tsan: deps server models
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSD_TSAN=ON -DWSD_WITH_LLAMA=OFF -DWSD_BUILD_BENCHMARKS=OFF
	cmake --build build-tsan -j$(JOBS)
	cd build-tsan && TSAN_OPTIONS="halt_on_error=1" ctest --output-on-failure -j$(JOBS) -L 'unit|server-fault'

# libFuzzer (clang): each target for FUZZ_SECONDS from its seed corpus; findings fail the run.
FUZZ_SECONDS ?= 60
fuzz:
	bash cmake/install-deps.sh --fuzz
	CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSD_BUILD_FUZZERS=ON -DWSD_WITH_LLAMA=OFF -DWSD_BUILD_EXAMPLES=OFF -DWSD_BUILD_BENCHMARKS=OFF
	cmake --build build-fuzz -j$(JOBS) --target fuzz_config fuzz_prompts fuzz_switch fuzz_bridge fuzz_chat_request
	bash tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-vulkan build-cuda build-asan build-tsan build-fuzz
