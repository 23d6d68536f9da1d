#pragma once
// wsd: Weak-to-Strong Decoding. The core (wsd/core.hpp) and every layer above it that needs no
// library beyond JSON and the numeric ones: configuration and traces as JSON, JSONL I/O, logits
// processors over xtensor views, and many conversations in flight. Providers are separate.
#include "wsd/core.hpp"
#include "wsd/batch/decode_loop.hpp"
#include "wsd/batch/engine_loop.hpp"
#include "wsd/io/jsonl.hpp"
#include "wsd/json/config.hpp"
#include "wsd/json/result.hpp"
#include "wsd/json/settings.hpp"
#include "wsd/numeric/processors.hpp"
#include "wsd/numeric/views.hpp"
