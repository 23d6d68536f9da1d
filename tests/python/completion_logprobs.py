"""llama-cpp-python's high-level API on the strong model: a completion with echo and logprobs,
the call a remote strong model is scored with. Runs on the llama.cpp build wsd links against."""
import math
import sys

from llama_cpp import Llama

model_path = sys.argv[1]
llm = Llama(model_path=model_path, n_ctx=512, logits_all=True, verbose=False, seed=0)
prompt = "\n\n[User]\nWhat is the capital of France?\n\n[Assistant]\nThe capital of France is"
out = llm.create_completion(prompt, max_tokens=1, echo=True, logprobs=1, temperature=0.0, repeat_penalty=1.0)
lp = out["choices"][0]["logprobs"]
tokens, logprobs = lp["tokens"], lp["token_logprobs"]
if logprobs[0] is not None:
    sys.exit(f"the first echoed token has a logprob ({logprobs[0]}); expected None")
scored = [x for x in logprobs[1:] if x is not None]
if len(scored) != len(logprobs) - 1 or len(scored) < 10:
    sys.exit(f"expected a logprob for every echoed token after the first, got {logprobs}")
if not all(math.isfinite(x) and x <= 0.0 for x in scored):
    sys.exit(f"logprobs must be finite and <= 0, got {scored}")
text = out["choices"][0]["text"]
if not text.startswith(prompt):
    sys.exit("echo did not return the prompt first")
print(f"{len(tokens)} tokens echoed and scored; mean log p {sum(scored) / len(scored):.3f}; next: {text[len(prompt):]!r}")
