"""Writes the Mamba-2 PEFT gradient fixture (src/test/resources/fixtures/mamba2/peft.reference.safetensors).

A plain-PyTorch Mamba-2 mixer (the recurrence of PAPER_NOTES.md's Mamba-2 analogue, step by step)
that reads the weights of transformers' Mamba2ForCausalLM and adds the seams the PAPER_NOTES way:
h' (nheads, headdim, n) read out through the head's group C_t only, y' (nheads, headdim), both after
the D skip and before the gated RMSNorm, and h0 (nheads, headdim, n) as the scan's initial state.
It is first checked against transformers' own logits with no seams; then, with random seams, the
token-mean cross entropy over target tokens and its autograd gradients (for the seams and for every
weight, as full fine-tuning needs), all in float64, written as float64.

  python3 scripts/reference/mamba2_peft_grads.py --model src/test/resources/fixtures/mamba2/tiny --out FILE
"""
import argparse

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import Mamba2ForCausalLM

IDS = [[12, 400, 7, 88, 912, 3, 55, 61, 2, 17, 301], [5, 6, 7, 8, 9, 10, 11, 0, 0, 0, 0]]
LABELS = [[-100, -100, -100, 88, 912, 3, 55, 61, 2, 17, 301], [-100, -100, 7, 8, 9, 10, 11, 0, -100, -100, -100]]


def mixer(m, u, seam):
    b, l, _ = u.shape
    nh, p, n, ng = m.num_heads, m.head_dim, m.ssm_state_size, m.n_groups
    di, conv = m.intermediate_size, m.conv_dim
    z, xBC, dt = torch.split(m.in_proj(u), [di, conv, nh], dim=-1)        # (b, l, di), (b, l, conv), (b, l, nh)
    k = m.conv_kernel_size
    xBC = F.conv1d(F.pad(xBC.transpose(1, 2), (k - 1, 0)), m.conv1d.weight, m.conv1d.bias, groups=conv)
    xBC = F.silu(xBC).transpose(1, 2)                                     # (b, l, conv)
    x, B, C = torch.split(xBC, [di, ng * n, ng * n], dim=-1)
    x = x.reshape(b, l, nh, p)
    group = torch.arange(nh) // (nh // ng)                               # the group each head reads
    B = B.reshape(b, l, ng, n)[:, :, group]                               # (b, l, nh, n)
    C = C.reshape(b, l, ng, n)[:, :, group]
    dt = F.softplus(dt + m.dt_bias)
    lo, hi = m.time_step_limit
    dt = torch.clamp(dt, lo, hi)                                          # (b, l, nh)
    A = -torch.exp(m.A_log)                                               # (nh)
    h = seam["h0"].expand(b, nh, p, n)
    ys = []
    for t in range(l):
        h = torch.exp(dt[:, t, :, None, None] * A[:, None, None]) * h \
            + dt[:, t, :, None, None] * x[:, t, :, :, None] * B[:, t, :, None, :]
        y = ((h + seam["h_offset"]) * C[:, t, :, None, :]).sum(-1) + m.D[:, None] * x[:, t] + seam["y_offset"]
        ys.append(y.reshape(b, di))
    y = torch.stack(ys, dim=1)                                            # (b, l, di)
    v = y * F.silu(z)                                                     # the gated RMSNorm over the whole width
    v = v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + m.norm.variance_epsilon) * m.norm.weight
    return m.out_proj(v)


def rms_norm(x, norm):
    """transformers' RMSNorm, kept in float64 (its own module computes in float32)."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon) * norm.weight


def logits(model, ids, seams):
    u = model.backbone.embeddings(ids)
    for layer, seam in zip(model.backbone.layers, seams):
        u = u + mixer(layer.mixer, rms_norm(u, layer.norm), seam)
    return model.lm_head(rms_norm(u, model.backbone.norm_f))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    model = Mamba2ForCausalLM.from_pretrained(args.model, dtype=torch.float64).eval()
    cfg = model.config
    nh, p, n = cfg.num_heads, cfg.head_dim, cfg.state_size
    ids, labels = torch.tensor(IDS), torch.tensor(LABELS)

    zero = [{"h_offset": torch.zeros(nh, p, n, dtype=torch.float64), "y_offset": torch.zeros(nh, p, dtype=torch.float64),
             "h0": torch.zeros(nh, p, n, dtype=torch.float64)} for _ in range(cfg.num_hidden_layers)]
    with torch.no_grad():
        diff = (logits(model, ids, zero) - model(input_ids=ids).logits).abs().max().item()
    print(f"plain mixer vs transformers' Mamba2ForCausalLM, no seams: max |logit diff| = {diff:.3g}")
    assert diff < 1e-5, diff  # transformers' norms round through float32

    g = torch.Generator().manual_seed(3)
    seams = [{name: ((torch.rand(t.shape, generator=g, dtype=torch.float64) * 2 - 1) * 0.3).requires_grad_()
              for name, t in layer.items()} for layer in zero]
    out = logits(model, ids, seams)
    loss = F.cross_entropy(out[:, :-1].reshape(-1, out.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)
    loss.backward()
    print(f"loss with random seams = {loss.item():.8f}")
    tensors = {"input_ids": ids.to(torch.int32), "labels": labels.to(torch.int32), "loss": loss.detach().reshape(1)}
    for name, w in model.named_parameters():   # full fine-tuning: every weight (the tied lm_head is the embedding)
        tensors["grad." + name] = w.grad.contiguous()
    for i, layer in enumerate(seams):
        for name, t in layer.items():
            key = f"backbone.layers.{i}.mixer.{name}"
            tensors[key] = t.detach().contiguous()
            tensors["grad." + key] = t.grad.contiguous()
    save_file(tensors, args.out)


if __name__ == "__main__":
    main()
