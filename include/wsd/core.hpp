#pragma once
// wsd's core: the decoder, its policies (drafter, strong model, switch rules, samplers), the text
// bridge, stop strings and streaming, and the Config bundle with make_decoder. It needs the
// standard library only; JSON (wsd/json/), numeric views (wsd/numeric/), I/O (wsd/io/), batching
// (wsd/batch/), the tools' concerns (wsd/tools/) and providers (wsd/providers/) are layers above.
#include "wsd/compose/config.hpp"
#include "wsd/compose/make_decoder.hpp"
#include "wsd/core/concepts.hpp"
#include "wsd/core/conversation.hpp"
#include "wsd/core/decoder.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/core/limits.hpp"
#include "wsd/core/logits.hpp"
#include "wsd/core/result.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/core/stream.hpp"
#include "wsd/core/trace.hpp"
#include "wsd/core/types.hpp"
#include "wsd/policies/drafter.hpp"
#include "wsd/policies/full_row_scorer.hpp"
#include "wsd/policies/strong_model.hpp"
#include "wsd/rules/accept_index.hpp"
#include "wsd/rules/registry.hpp"
#include "wsd/sampling/sampler.hpp"
#include "wsd/text/bridge.hpp"
#include "wsd/text/prompt_templates.hpp"
#include "wsd/text/stop_strings.hpp"
#include "wsd/version.hpp"
