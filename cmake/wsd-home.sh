# Sourced by cmake/*.sh and read by cmake/wsd-home.cmake and the Makefile: where wsd keeps what it
# downloads and builds, and the default pair's file names there. Each is written here only
# (include/wsd/providers/llama/default_models.hpp, the library's own default, is checked against it).
WSD_HOME=${WSD_HOME:-$HOME/.cache/wsd}
WSD_WEAK_MODEL=SmolLM2-135M-Instruct-Q4_1.gguf
WSD_STRONG_MODEL=gemma-3-270m-Q4_K_M.gguf
