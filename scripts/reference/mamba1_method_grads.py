"""Writes the method-gradient fixture (src/test/resources/fixtures/mamba1/methods.reference.safetensors).

The plain-PyTorch Mamba-1 forward of mamba1_peft_grads.py, extended with the parameters of four
more methods of PAPER_NOTES.md, all active at once: LoRA on x_proj's dt/B/C rows, dt_proj, in_proj
and out_proj (rank 4, alpha 8, no dropout), Prefix-Tuning (2 virtual tokens before each layer's
mixer input, their outputs dropped), Prompt Tuning (2 virtual embeddings before the input) and
Additional-scan (2 extra state dims: new x_proj rows for B' and C', new A_log columns). Random
values for all of them, the token-mean cross entropy and its autograd gradients, in float64.

  python3 scripts/reference/mamba1_method_grads.py --model src/main/resources/dev/statetune/tiny-mamba --out FILE
"""
import argparse

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import MambaForCausalLM

IDS = [[12, 400, 7, 88, 912, 3, 55], [5, 6, 7, 8, 9, 10, 11]]
LABELS = [[-100, -100, 7, 88, 912, 3, 55], [-100, 6, 7, 8, 9, 10, -100]]
RANK, ALPHA, PREFIX, PROMPT, EXTRA = 4, 8.0, 2, 2, 2
TARGETS = ["x_proj.dt", "x_proj.B", "x_proj.C", "dt_proj", "in_proj", "out_proj"]


def lora_key(i, target, which):
    return f"base_model.model.backbone.layers.{i}.mixer.{target}.lora_{which}.weight"


def linear(module, x, i, name, p, rows):
    """module(x) plus the LoRA updates of `name`'s targets on their rows."""
    out = module(x)
    for target, (lo, hi) in rows.items():
        a, b = p[lora_key(i, target, "A")], p[lora_key(i, target, "B")]
        delta = (ALPHA / RANK) * (x @ a.T) @ b.T
        out = torch.cat([out[..., :lo], out[..., lo:hi] + delta, out[..., hi:]], dim=-1)
    return out


def mixer(m, i, u, p):
    b, l, _ = u.shape
    di, n, k, r = m.intermediate_size, m.ssm_state_size, m.conv_kernel_size, m.time_step_rank
    u = torch.cat([p[f"backbone.layers.{i}.mixer.prefix_tokens"].expand(b, PREFIX, -1), u], dim=1)   # the prefix
    L = l + PREFIX
    x, z = linear(m.in_proj, u, i, "in_proj", p, {"in_proj": (0, 2 * di)}).chunk(2, dim=-1)
    x = F.conv1d(F.pad(x.transpose(1, 2), (k - 1, 0)), m.conv1d.weight, m.conv1d.bias, groups=di)
    x = F.silu(x).transpose(1, 2)
    dbc = linear(m.x_proj, x, i, "x_proj", p, {"x_proj.dt": (0, r), "x_proj.B": (r, r + n), "x_proj.C": (r + n, r + 2 * n)})
    dt, B, C = torch.split(dbc, [r, n, n], dim=-1)
    dt = F.softplus(linear(m.dt_proj, dt, i, "dt_proj", p, {"dt_proj": (0, di)}))
    B = torch.cat([B, x @ p[f"backbone.layers.{i}.mixer.x_proj.extra_B"].T], dim=-1)         # additional scan
    C = torch.cat([C, x @ p[f"backbone.layers.{i}.mixer.x_proj.extra_C"].T], dim=-1)
    A = torch.cat([-torch.exp(m.A_log), -torch.exp(p[f"backbone.layers.{i}.mixer.A_log.extra"])], dim=-1)
    h = torch.zeros(b, di, n + EXTRA, dtype=u.dtype)
    ys = []
    for t in range(L):
        h = torch.exp(dt[:, t, :, None] * A) * h + dt[:, t, :, None] * B[:, t, None, :] * x[:, t, :, None]
        ys.append((h * C[:, t, None, :]).sum(-1) + m.D * x[:, t])
    y = torch.stack(ys, dim=1) * F.silu(z)
    return linear(m.out_proj, y, i, "out_proj", p, {"out_proj": (0, m.out_proj.out_features)})[:, PREFIX:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    model = MambaForCausalLM.from_pretrained(args.model, dtype=torch.float64).eval()
    cfg = model.config
    d, di, n, r = cfg.hidden_size, cfg.intermediate_size, cfg.state_size, cfg.time_step_rank
    g = torch.Generator().manual_seed(5)

    def rand(*shape, scale=0.3):
        return ((torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * scale).requires_grad_()

    io = {"in_proj": (d, 2 * di), "out_proj": (di, d), "dt_proj": (r, di), "x_proj.dt": (di, r), "x_proj.B": (di, n), "x_proj.C": (di, n)}
    p = {"prompt_embeddings": rand(PROMPT, d)}
    for i in range(cfg.num_hidden_layers):
        for t in TARGETS:
            p[lora_key(i, t, "A")] = rand(RANK, io[t][0])
            p[lora_key(i, t, "B")] = rand(io[t][1], RANK, scale=0.1)
        p[f"backbone.layers.{i}.mixer.prefix_tokens"] = rand(PREFIX, d)
        p[f"backbone.layers.{i}.mixer.x_proj.extra_B"] = rand(EXTRA, di)
        p[f"backbone.layers.{i}.mixer.x_proj.extra_C"] = rand(EXTRA, di)
        p[f"backbone.layers.{i}.mixer.A_log.extra"] = rand(di, EXTRA, scale=1.0)
    ids, labels = torch.tensor(IDS), torch.tensor(LABELS)
    u = torch.cat([p["prompt_embeddings"].expand(len(IDS), -1, -1), model.backbone.embeddings(ids)], dim=1)
    for i, layer in enumerate(model.backbone.layers):
        u = u + mixer(layer.mixer, i, layer.norm(u), p)
    logits = model.lm_head(model.backbone.norm_f(u))[:, PROMPT:]
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)
    loss.backward()
    print(f"loss with every method active = {loss.item():.6f}")
    out = {"input_ids": ids.to(torch.int32), "labels": labels.to(torch.int32), "loss": loss.detach().reshape(1).float()}
    for name, t in p.items():
        out[name] = t.detach().float().contiguous()
        out["grad." + name] = t.grad.float().contiguous()
    save_file(out, args.out)


if __name__ == "__main__":
    main()
