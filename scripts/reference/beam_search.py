"""Writes the decoding fixture: transformers' own greedy and beam-search outputs for the built-in model.

Run on the GPU machine (PyTorch + transformers); generation runs on the CPU in float32 with
MambaForCausalLM.generate, so the ids and scores are the reference that statetune's beam search
(generate/BeamSearch) and batched greedy decoding must reproduce.

  python3 scripts/reference/beam_search.py --model src/main/resources/dev/statetune/tiny-mamba --out FILE

Cases: several prompts x {eos = the model's eos (0), eos = a token the model emits often} x
{5 beams with length penalty 1 (the paper's decoding), 3 beams with length penalty 0.5, greedy}.
Stored per case c: prompt_c (int64), eos_c, beams_c, length_penalty_c, max_new_c (int64 scalars),
ids_c (the new tokens, without trailing pad) and score_c (sequences_scores; absent for greedy).
"""
import argparse

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer
from transformers import MambaForCausalLM

PROMPTS = ["The old man said that", "It was a", "She looked at the door and",
           "In the morning the ship sailed away from the harbour, and the"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    model = MambaForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    tok = Tokenizer.from_file(args.model + "/tokenizer.json")
    # A token the model emits often serves as a second eos, so that beams finish early and at
    # different lengths (the built-in model rarely ends a text on its own).
    first = torch.tensor([tok.encode(PROMPTS[0]).ids])
    greedy = model.generate(first, max_new_tokens=24, do_sample=False)[0, first.shape[1]:].tolist()
    frequent = max(set(greedy), key=greedy.count)
    out, c = {}, 0
    for text in PROMPTS:
        prompt = torch.tensor([tok.encode(text).ids])
        for eos in (0, frequent):
            for beams, lp, max_new in ((5, 1.0, 20), (3, 0.5, 12), (1, 1.0, 20)):
                kw = dict(max_new_tokens=max_new, do_sample=False, eos_token_id=eos, pad_token_id=eos,
                          return_dict_in_generate=True, output_scores=True)
                if beams > 1:
                    kw.update(num_beams=beams, length_penalty=lp, early_stopping=False)
                with torch.no_grad():
                    g = model.generate(prompt, **kw)
                ids = g.sequences[0, prompt.shape[1]:].tolist()
                if eos in ids:
                    ids = ids[:ids.index(eos) + 1]   # the tokens after eos are padding
                out[f"prompt_{c}"] = prompt[0].clone()
                out[f"ids_{c}"] = torch.tensor(ids, dtype=torch.long)
                for k, v in (("eos", eos), ("beams", beams), ("max_new", max_new)):
                    out[f"{k}_{c}"] = torch.tensor(v, dtype=torch.long)
                out[f"length_penalty_{c}"] = torch.tensor(lp, dtype=torch.float32)
                if beams > 1:
                    out[f"score_{c}"] = g.sequences_scores[0].float().clone()
                print(f"case {c}: beams {beams} lp {lp} eos {eos} -> {len(ids)} tokens {ids}", flush=True)
                c += 1
    save_file(out, args.out)


if __name__ == "__main__":
    main()
