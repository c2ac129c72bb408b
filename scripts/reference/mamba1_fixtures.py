"""Writes the Mamba-1 parity fixtures that statetune's tests load (src/test/resources/fixtures/).

Run on the GPU machine (PyTorch + transformers); everything it computes for the fixtures runs on
the CPU in float32 with transformers' own MambaForCausalLM, so the numbers are the reference.

  python3 scripts/reference/mamba1_fixtures.py --corpus TEXT.txt --out DIR [--train-seconds 90]

What it writes under DIR:
  tiny/             HF layout (config.json, model.safetensors, tokenizer.json): hidden 96, 3 layers,
                    vocab 1000, a byte-level BPE tokenizer trained on TEXT, the model briefly trained on
                    TEXT so that it writes word-like text (it is also statetune's built-in demo model)
  tiny-original/    the same weights in the original state-spaces layout (d_model, n_layer, vocab
                    997 padded to a multiple of 8, backbone.embedding.weight, lm_head.weight stored)
  variant/          HF layout, random weights: hidden 80, 2 layers, state 8, conv 3, dt rank 7,
                    biases everywhere, untied lm_head, stored in bfloat16, sharded (index.json)
  <name>.reference.safetensors for tiny and variant: input ids, logits, greedy continuation
"""
import argparse, json, math, os, shutil, time

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import MambaConfig, MambaForCausalLM

VOCAB = 1000
EOS = 0


def train_tokenizer(corpus_path, out_dir):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train([corpus_path], trainer)
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    assert tok.token_to_id("<|endoftext|>") == EOS
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    return tok


def pretrain(model, tok, corpus_path, seconds, device):
    """A few seconds of next-token training so that the demo model writes word-like text."""
    text = open(corpus_path, encoding="utf-8").read()
    ids = torch.tensor(tok.encode(text).ids, dtype=torch.long)
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    g = torch.Generator().manual_seed(0)
    seq, batch, step, start = 128, 32, 0, time.time()
    while time.time() - start < seconds:
        starts = torch.randint(0, len(ids) - seq - 1, (batch,), generator=g)
        x = torch.stack([ids[s:s + seq] for s in starts]).to(device)
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(); loss.backward(); opt.step(); step += 1
        if step % 100 == 0:
            print(f"pretrain step {step} loss {loss.item():.3f}", flush=True)
    print(f"pretrained {step} steps in {time.time() - start:.0f}s, last loss {loss.item():.3f}", flush=True)
    model.to("cpu").eval()


def write_reference(model, path, seed):
    """Logits of two batches whose lengths are not powers of two, and a greedy continuation."""
    g = torch.Generator().manual_seed(seed)
    vocab = model.config.vocab_size
    ids_a = torch.randint(1, vocab, (2, 45), generator=g)
    ids_b = torch.randint(1, vocab, (1, 61), generator=g)
    prompt = torch.randint(1, vocab, (1, 7), generator=g)
    with torch.no_grad():
        logits_a = model(input_ids=ids_a).logits.float()
        logits_b = model(input_ids=ids_b).logits.float()
        greedy = prompt.clone()
        for _ in range(24):  # plain argmax loop over the full forward: no generate() stopping rules
            nxt = model(input_ids=greedy).logits[:, -1].argmax(-1, keepdim=True)
            greedy = torch.cat([greedy, nxt], dim=1)
        # and transformers' own cached generate must agree with the plain loop
        cached = model.generate(prompt, max_new_tokens=24, do_sample=False, min_new_tokens=24,
                                pad_token_id=EOS)
        assert torch.equal(cached, greedy), (cached, greedy)
    save_file({
        "ids_a": ids_a.to(torch.int32).contiguous(), "logits_a": logits_a.contiguous(),
        "ids_b": ids_b.to(torch.int32).contiguous(), "logits_b": logits_b.contiguous(),
        "greedy_prompt": prompt.to(torch.int32).contiguous(), "greedy_ids": greedy.to(torch.int32).contiguous(),
    }, path)


def write_original_layout(model, out_dir):
    """The state-spaces (mamba_ssm) checkpoint layout of the same weights."""
    os.makedirs(out_dir, exist_ok=True)
    cfg = model.config
    sd = {}
    for k, v in model.state_dict().items():
        k = k.replace("backbone.embeddings.", "backbone.embedding.")
        sd[k] = v.detach().clone().contiguous()
    sd["lm_head.weight"] = sd["backbone.embedding.weight"].clone()  # mamba_ssm stores the tied head
    save_file(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    json.dump({"d_model": cfg.hidden_size, "n_layer": cfg.num_hidden_layers, "vocab_size": 997,
               "ssm_cfg": {}, "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True,
               "pad_vocab_size_multiple": 8, "tie_embeddings": True},
              open(os.path.join(out_dir, "config.json"), "w"), indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--train-seconds", type=float, default=90)
    args = ap.parse_args()
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    tiny_dir = os.path.join(args.out, "tiny")
    os.makedirs(tiny_dir, exist_ok=True)
    tok = train_tokenizer(args.corpus, tiny_dir)
    tiny = MambaForCausalLM(MambaConfig(
        vocab_size=VOCAB, hidden_size=96, state_size=16, num_hidden_layers=3, expand=2, conv_kernel=4,
        use_bias=False, use_conv_bias=True, tie_word_embeddings=True, layer_norm_epsilon=1e-5,
        bos_token_id=EOS, eos_token_id=EOS, pad_token_id=EOS))
    pretrain(tiny, tok, args.corpus, args.train_seconds, device)
    tiny = tiny.float()
    tiny.save_pretrained(tiny_dir)
    write_reference(tiny, os.path.join(args.out, "tiny.reference.safetensors"), seed=1)
    write_original_layout(tiny, os.path.join(args.out, "tiny-original"))

    variant = MambaForCausalLM(MambaConfig(
        vocab_size=VOCAB, hidden_size=80, state_size=8, num_hidden_layers=2, expand=2, conv_kernel=3,
        time_step_rank=7, use_bias=True, use_conv_bias=True, tie_word_embeddings=False,
        layer_norm_epsilon=1e-6, bos_token_id=EOS, eos_token_id=EOS, pad_token_id=EOS))
    with torch.no_grad():  # non-trivial values everywhere, biases and norms included
        for p in variant.parameters():
            p.add_(0.05 * torch.randn_like(p))
    variant = variant.to(torch.bfloat16)
    variant_dir = os.path.join(args.out, "variant")
    variant.save_pretrained(variant_dir, max_shard_size="150KB")
    # the reference numbers are those of the stored bf16 weights computed in float32
    variant = MambaForCausalLM.from_pretrained(variant_dir, dtype=torch.float32).eval()
    write_reference(variant, os.path.join(args.out, "variant.reference.safetensors"), seed=2)
    print("fixtures written to", args.out)


if __name__ == "__main__":
    main()
