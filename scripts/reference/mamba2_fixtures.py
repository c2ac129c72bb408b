"""Writes the Mamba-2 (SSD) parity fixtures that statetune's tests load (src/test/resources/fixtures/mamba2/).

Run on the GPU machine (PyTorch + transformers, no mamba_ssm): every number below comes from
transformers' Mamba2ForCausalLM on the CPU in float32, i.e. its torch path (`torch_forward`, the
chunked SSD of the paper written with torch ops), so the numbers are the reference.

  python3 scripts/reference/mamba2_fixtures.py --out DIR

What it writes under DIR:
  tiny/             HF layout, random fp32 weights: hidden 64, 3 layers, 8 heads of 16, 2 groups, state 16,
                    conv 4, chunk 8, no conv bias, eps 1e-6, tied lm_head, time_step_limit (0, inf)
  variant/          HF layout, random weights stored in bfloat16: hidden 48, 2 layers, 4 heads of 24,
                    1 group, state 8, conv 3, chunk 8, in/out_proj biases, untied lm_head,
                    time_step_limit (0.05, 0.8) so that the dt clamp acts
  variant-original/ the variant's weights in the state-spaces (mamba_ssm) layout: d_model, n_layer,
                    ssm_cfg {layer: Mamba2, ...}, vocab 997 padded to 1000, backbone.embedding.weight
                    (one group, so mamba_ssm's per-group gated norm is transformers' whole-width one)
  <name>.reference.safetensors for tiny and variant: ids_a (2, 45) and ids_b (2, 13) with their
                    logits (lengths are not multiples of the chunk: full chunks and a partial one), and
                    greedy_prompt (2, 7) with greedy_ids (2, 23) from generate(do_sample=False) and
                    greedy_loop_ids (2, 23) from an argmax loop over full forwards. They differ for the
                    variant: transformers' one-token decode step does not apply time_step_limit.
  transformers.txt  versions, and whether generate() agreed with the argmax loop
"""
import argparse, json, os

import torch
import transformers
from safetensors.torch import save_file
from transformers import Mamba2Config, Mamba2ForCausalLM

VOCAB = 1000
EOS = 0
NEW_TOKENS = 16


def randomize(model, seed):
    """Non-trivial values everywhere: norms, biases, D and A_log off their inits, dt of order 1."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if name.endswith("dt_bias"):
                p.copy_(0.7 * noise)            # softplus(dt) spans ~0.2 .. 2: decays well below 1
            elif name.endswith("A_log"):
                p.add_(0.3 * noise)
            else:
                p.add_(0.05 * noise)


def write_reference(model, path, seed, log):
    g = torch.Generator().manual_seed(seed)
    vocab = model.config.vocab_size
    ids_a = torch.randint(1, vocab, (2, 45), generator=g)
    ids_b = torch.randint(1, vocab, (2, 13), generator=g)
    prompt = torch.randint(1, vocab, (2, 7), generator=g)
    with torch.no_grad():
        logits_a = model(input_ids=ids_a).logits.float()
        logits_b = model(input_ids=ids_b).logits.float()
        greedy = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=NEW_TOKENS,
                                min_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=EOS)
        loop = prompt.clone()
        for _ in range(NEW_TOKENS):  # the same continuation by full forwards, no cache
            loop = torch.cat([loop, model(input_ids=loop).logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    log.append(f"{os.path.basename(path)}: generate == argmax loop: {torch.equal(greedy, loop)}")
    save_file({
        "ids_a": ids_a.to(torch.int32).contiguous(), "logits_a": logits_a.contiguous(),
        "ids_b": ids_b.to(torch.int32).contiguous(), "logits_b": logits_b.contiguous(),
        "greedy_prompt": prompt.to(torch.int32).contiguous(), "greedy_ids": greedy.to(torch.int32).contiguous(),
        "greedy_loop_ids": loop.to(torch.int32).contiguous(),
    }, path)


def write_original_layout(model, out_dir):
    """The state-spaces (mamba_ssm) MambaLMHeadModel layout of the same weights, as stored (bf16)."""
    os.makedirs(out_dir, exist_ok=True)
    c = model.config
    sd = {k.replace("backbone.embeddings.", "backbone.embedding."): v.detach().clone().contiguous()
          for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    ssm_cfg = {"layer": "Mamba2", "d_state": c.state_size, "d_conv": c.conv_kernel, "expand": c.expand,
               "headdim": c.head_dim, "ngroups": c.n_groups, "chunk_size": c.chunk_size, "bias": c.use_bias,
               "conv_bias": c.use_conv_bias, "dt_limit": list(c.time_step_limit)}
    json.dump({"d_model": c.hidden_size, "d_intermediate": 0, "n_layer": c.num_hidden_layers, "vocab_size": 997,
               "ssm_cfg": ssm_cfg, "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": True,
               "residual_in_fp32": True, "fused_add_norm": True, "pad_vocab_size_multiple": 8,
               "tie_embeddings": c.tie_word_embeddings},
              open(os.path.join(out_dir, "config.json"), "w"), indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    log = [f"torch {torch.__version__}, transformers {transformers.__version__}"]

    tiny = Mamba2ForCausalLM(Mamba2Config(
        vocab_size=VOCAB, hidden_size=64, num_hidden_layers=3, num_heads=8, head_dim=16, expand=2, n_groups=2,
        state_size=16, conv_kernel=4, chunk_size=8, use_bias=False, use_conv_bias=False, layer_norm_epsilon=1e-6,
        tie_word_embeddings=True, bos_token_id=EOS, eos_token_id=EOS, pad_token_id=EOS)).float().eval()
    randomize(tiny, seed=1)
    tiny.save_pretrained(os.path.join(args.out, "tiny"))
    write_reference(tiny, os.path.join(args.out, "tiny.reference.safetensors"), seed=11, log=log)

    variant = Mamba2ForCausalLM(Mamba2Config(
        vocab_size=VOCAB, hidden_size=48, num_hidden_layers=2, num_heads=4, head_dim=24, expand=2, n_groups=1,
        state_size=8, conv_kernel=3, chunk_size=8, use_bias=True, use_conv_bias=True, layer_norm_epsilon=1e-5,
        time_step_limit=(0.05, 0.8), tie_word_embeddings=False, bos_token_id=EOS, eos_token_id=EOS,
        pad_token_id=EOS)).float()
    randomize(variant, seed=2)
    variant = variant.to(torch.bfloat16)
    variant_dir = os.path.join(args.out, "variant")
    variant.save_pretrained(variant_dir)
    write_original_layout(variant, os.path.join(args.out, "variant-original"))
    # the reference numbers are those of the stored bf16 weights computed in float32
    variant = Mamba2ForCausalLM.from_pretrained(variant_dir, dtype=torch.float32).eval()
    write_reference(variant, os.path.join(args.out, "variant.reference.safetensors"), seed=12, log=log)

    open(os.path.join(args.out, "transformers.txt"), "w").write("\n".join(log) + "\n")
    print("\n".join(log))
    print("fixtures written to", args.out)


if __name__ == "__main__":
    main()
