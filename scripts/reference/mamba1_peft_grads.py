"""Writes the PEFT-seam gradient fixture (src/test/resources/fixtures/mamba1/seams.reference.safetensors).

A plain-PyTorch Mamba-1 forward that reads the weights of transformers' MambaForCausalLM and adds
the seams of PAPER_NOTES.md: h' (State-offset Tuning, h: read out only, never fed back), y'
(State-offset Tuning, y: before the gate), h0 and the conv state (Initial State Tuning). It is
first checked against transformers' own logits with no seams; then, with random seams, the
token-mean cross entropy over target tokens and its autograd gradients (for the seams and for every
weight of the model, as full fine-tuning needs), all in float64.

  python3 scripts/reference/mamba1_peft_grads.py --model src/main/resources/dev/statetune/tiny-mamba --out FILE
"""
import argparse

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import MambaForCausalLM

IDS = [[12, 400, 7, 88, 912, 3, 55, 61, 2], [5, 6, 7, 8, 9, 10, 11, 0, 0]]
LABELS = [[-100, -100, -100, 88, 912, 3, 55, 61, 2], [-100, -100, 7, 8, 9, 10, 11, 0, -100]]


def mixer(m, u, seam):
    b, l, _ = u.shape
    di, n, k = m.intermediate_size, m.ssm_state_size, m.conv_kernel_size
    x, z = m.in_proj(u).chunk(2, dim=-1)                                   # (b, l, di) each
    pad = seam["conv_state0"].expand(b, di, k - 1)                          # inputs before the first token
    x = F.conv1d(torch.cat([pad, x.transpose(1, 2)], dim=-1), m.conv1d.weight, m.conv1d.bias, groups=di)
    x = F.silu(x).transpose(1, 2)                                           # (b, l, di)
    dt, B, C = torch.split(m.x_proj(x), [m.time_step_rank, n, n], dim=-1)
    dt = F.softplus(m.dt_proj(dt))                                          # (b, l, di)
    A = -torch.exp(m.A_log)                                                 # (di, n)
    h = seam["h0"].expand(b, di, n)
    ys = []
    for t in range(l):
        h = torch.exp(dt[:, t, :, None] * A) * h + dt[:, t, :, None] * B[:, t, None, :] * x[:, t, :, None]
        ys.append(((h + seam["h_offset"]) * C[:, t, None, :]).sum(-1) + m.D * x[:, t] + seam["y_offset"])
    y = torch.stack(ys, dim=1) * F.silu(z)
    return m.out_proj(y)


def logits(model, ids, seams):
    u = model.backbone.embeddings(ids)
    for layer, seam in zip(model.backbone.layers, seams):
        u = u + mixer(layer.mixer, layer.norm(u), seam)
    return model.lm_head(model.backbone.norm_f(u))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    model = MambaForCausalLM.from_pretrained(args.model, dtype=torch.float64).eval()
    cfg = model.config
    di, n, k = cfg.intermediate_size, cfg.state_size, cfg.conv_kernel
    ids, labels = torch.tensor(IDS), torch.tensor(LABELS)

    zero = [{"h_offset": torch.zeros(di, n, dtype=torch.float64), "y_offset": torch.zeros(di, dtype=torch.float64),
             "h0": torch.zeros(di, n, dtype=torch.float64), "conv_state0": torch.zeros(di, k - 1, dtype=torch.float64)}
            for _ in range(cfg.num_hidden_layers)]
    with torch.no_grad():
        diff = (logits(model, ids, zero) - model(input_ids=ids).logits).abs().max().item()
    print(f"plain mixer vs transformers, no seams: max |logit diff| = {diff:.3g}")
    assert diff < 1e-5, diff  # transformers' RMSNorm computes in float32 even for a float64 model

    g = torch.Generator().manual_seed(3)
    seams = [{name: ((torch.rand(t.shape, generator=g, dtype=torch.float64) * 2 - 1) * 0.5).requires_grad_()
              for name, t in layer.items()} for layer in zero]
    out = logits(model, ids, seams)
    loss = F.cross_entropy(out[:, :-1].reshape(-1, out.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)
    loss.backward()
    print(f"loss with random seams = {loss.item():.6f}")
    tensors = {"input_ids": ids.to(torch.int32), "labels": labels.to(torch.int32),
               "loss": loss.detach().reshape(1).float()}
    for name, p in model.named_parameters():   # full fine-tuning: every weight (the tied lm_head is the embedding)
        tensors["grad." + name] = p.grad.float().contiguous()
    for i, layer in enumerate(seams):
        for name, t in layer.items():
            key = f"backbone.layers.{i}.mixer.{name}"
            tensors[key] = t.detach().float().contiguous()
            tensors["grad." + key] = t.grad.float().contiguous()
    save_file(tensors, args.out)


if __name__ == "__main__":
    main()
