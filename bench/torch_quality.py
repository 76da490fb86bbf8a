# Our GANs trained in PyTorch on a dataset of ours, for bench/train-quality.bench.ts: does our trainer
# learn as PyTorch's does, step for step?
#
#   python3 bench/torch_quality.py MODEL DATA LABELS COUNT RES BATCH STEPS EVERY SAMPLES SEED OUT_DIR
#
# MODEL: dcgan (the network of ../shared/bench/torch_dcgan.py) or cwgan-gp (bench/torch_cwgan_gp.py's).
# DATA: COUNT uint8 images [COUNT, RES, RES, 3] (NHWC, row-major), as the app's dataset holds them;
# LABELS: COUNT uint8 class indices (cwgan-gp; '-' for none).
# As ours (makeConfig 'default', DcganTrainer / CwganGpTrainer): weights and embeddings normal(0, 0.02),
# biases 0, batch norm's scale 1 and shift 0, momentum 0.1 (tfjs's 0.9) and eps 1e-5.
# - dcgan: Adam 2e-4, betas (0.5, 0.999); one discriminator update on a real batch (drawn with
#   replacement) and a fake one, then one generator update through the updated discriminator, from
#   the same fake batch.
# - cwgan-gp: Adam 1e-4, betas (0, 0.9); 5 critic updates, each on a fresh real batch (a class drawn
#   uniformly, then an image of it) with fakes of its labels, penalty 10; one generator update for
#   labels drawn the same way.
# Losses are read every step. At step 0 and every EVERY steps: SAMPLES images per class from fixed
# latents, G in inference mode (batch norm's running averages, as the app generates), written to
# OUT_DIR/torch-s<SEED>-<STEP>.u8 as uint8 NHWC, class after class; and one JSON line with the step,
# the mean losses since the last line and the seconds spent training.
import os, sys, time, math, json, torch, torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_cwgan_gp import Z, Generator, ProjectionCritic, critic_update, generator_update  # noqa: E402

MODEL, DATA, LABELS = sys.argv[1:4]
COUNT, RES, B, STEPS, EVERY, SAMPLES, SEED = map(int, sys.argv[4:11])
OUT = sys.argv[11]
WGAN = MODEL == 'cwgan-gp'
n_up = int(math.log2(RES // 4))
torch.manual_seed(SEED)


def dcgan_generator():
    ch = 64 * 2 ** (n_up - 1)
    layers = [nn.Linear(Z, 16 * ch, bias=False), nn.Unflatten(1, (ch, 4, 4)), nn.BatchNorm2d(ch), nn.ReLU()]
    for _ in range(n_up - 1):
        layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU()]
        ch //= 2
    layers += [nn.ConvTranspose2d(ch, 3, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers)


def dcgan_discriminator():
    ch = 64
    layers = [nn.Conv2d(3, ch, 4, 2, 1), nn.LeakyReLU(0.2)]
    for _ in range(n_up - 1):
        layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2)]
        ch *= 2
    layers += [nn.Flatten(), nn.Linear(ch * 16, 1)]
    return nn.Sequential(*layers)


def init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if getattr(m, 'bias', None) is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


def read(path, size):
    with open(path, 'rb') as f:
        raw = f.read()
    if len(raw) != size:
        sys.exit(f'{path} holds {len(raw)} bytes, not {size}')
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8)


images = read(DATA, COUNT * RES * RES * 3).reshape(COUNT, RES, RES, 3).permute(0, 3, 1, 2).float() / 127.5 - 1
labels = read(LABELS, COUNT).long() if WGAN else torch.zeros(COUNT, dtype=torch.long)
CLASSES = int(labels.max()) + 1
by_class = [torch.nonzero(labels == c).flatten() for c in range(CLASSES)]
if WGAN:
    G, D = Generator(RES, CLASSES), ProjectionCritic(RES, CLASSES)
    oG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9), eps=1e-8)
    oD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9), eps=1e-8)
else:
    G, D = dcgan_generator(), dcgan_discriminator()
    oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-8)
    oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-8)
G.apply(init)
D.apply(init)
bce = nn.BCEWithLogitsLoss()
fixed = torch.randn(SAMPLES, Z, generator=torch.Generator().manual_seed(10_000 + SEED))
draws = torch.Generator().manual_seed(20_000 + SEED)


def batch_indices():
    """B indices: uniformly (dcgan), or a class uniformly and then an image of it (cwgan-gp, as ours)."""
    if not WGAN:
        return torch.randint(0, COUNT, (B,), generator=draws)
    cls = torch.randint(0, CLASSES, (B,), generator=draws)
    return torch.stack([by_class[c][torch.randint(0, len(by_class[c]), (1,), generator=draws)][0] for c in cls.tolist()])


def write_samples(step):
    G.eval()
    with torch.no_grad():
        parts = []
        for c in range(CLASSES):
            for i in range(0, SAMPLES, 256):
                z = fixed[i:i + 256]
                parts.append(G(z, torch.full((z.shape[0],), c, dtype=torch.long)) if WGAN else G(z))
        x = torch.cat(parts)
    G.train()
    u8 = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    with open(f'{OUT}/torch-s{SEED}-{step}.u8', 'wb') as f:
        try:
            f.write(u8.numpy().tobytes())
        except RuntimeError:  # PyTorch without numpy (a wheel installed with --no-deps)
            f.write(bytes(u8.flatten().tolist()))


def step():
    if WGAN:
        for _ in range(5):
            idx = batch_indices()
            dl = critic_update(G, D, oD, images[idx], labels[idx])
        gl = generator_update(G, D, oG, labels[batch_indices()])
        return dl.item(), gl.item()
    real = images[batch_indices()]
    fake = G(torch.randn(B, Z))
    ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)
    oD.zero_grad()
    dl = bce(D(real), ones) + bce(D(fake.detach()), zeros)
    dl.backward()
    oD.step()
    oG.zero_grad()
    gl = bce(D(fake), ones)
    gl.backward()
    oG.step()
    return dl.item(), gl.item()


write_samples(0)
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "model": MODEL, "seed": SEED, "step": 0}), flush=True)
t0, d_sum, g_sum, n = time.perf_counter(), 0.0, 0.0, 0
for s in range(1, STEPS + 1):
    dl, gl = step()
    d_sum, g_sum, n = d_sum + dl, g_sum + gl, n + 1
    if s % EVERY == 0 or s == STEPS:
        seconds = time.perf_counter() - t0
        write_samples(s)
        print(json.dumps({"seed": SEED, "step": s, "dLoss": d_sum / n, "gLoss": g_sum / n, "trainSeconds": round(seconds, 2)}), flush=True)
        d_sum, g_sum, n = 0.0, 0.0, 0
        t0 = time.perf_counter()
