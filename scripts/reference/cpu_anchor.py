"""transformers' own CPU path on a mamba-130m-shaped model with random weights: the anchor that
`statetune bench` is compared with when both run on one machine with the same thread count.

  python3 scripts/reference/cpu_anchor.py --threads 2 [--prefill 256] [--decode 32] [--train-tokens 128]

Prints one JSON line: prefill tokens/s (batch 1), decode tokens/s (batch 1, recurrent cache), and
frozen-backbone training tokens/s (one sequence of --train-tokens: forward, loss, and a backward that
flows through every layer into the input embeddings without weight gradients — the cost of PEFT).
"""
import argparse, json, time

import torch
from transformers import MambaConfig, MambaForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--prefill", type=int, default=256)
    ap.add_argument("--decode", type=int, default=32)
    ap.add_argument("--train-tokens", type=int, default=128)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = MambaForCausalLM(MambaConfig(vocab_size=50280, hidden_size=768, num_hidden_layers=24,
                                         state_size=16, expand=2, conv_kernel=4)).eval()
    ids = torch.randint(1, 50280, (1, args.prefill))
    with torch.no_grad():
        model(input_ids=ids)  # warm-up
        t0 = time.perf_counter()
        model(input_ids=ids)
        prefill = args.prefill / (time.perf_counter() - t0)
        out = model.generate(ids[:, :8], max_new_tokens=4, do_sample=False, min_new_tokens=4)  # warm-up
        t1 = time.perf_counter()
        out = model.generate(ids[:, :8], max_new_tokens=args.decode, min_new_tokens=args.decode, do_sample=False)
        decode = args.decode / (time.perf_counter() - t1)
    for p in model.parameters():
        p.requires_grad_(False)
    ids = torch.randint(1, 50280, (1, args.train_tokens))
    best = float("inf")
    for step in range(3):  # the first is a warm-up
        t2 = time.perf_counter()
        embeds = model.backbone.embeddings(ids).detach().requires_grad_()
        model(inputs_embeds=embeds, labels=ids).loss.backward()
        if step > 0:
            best = min(best, time.perf_counter() - t2)
    print(json.dumps({"impl": "transformers " + __import__("transformers").__version__, "threads": args.threads,
                      "prefill_tokens_per_s": prefill, "decode_tokens_per_s": decode,
                      "frozen_train_tokens_per_s": args.train_tokens / best}))


if __name__ == "__main__":
    main()
