# The conditional WGAN-GP of src/worker/models (networks.ts, losses.ts; the step of
# CwganGpTrainer in src/worker/training/trainer.ts), in PyTorch, to time ours against:
#
#   python3 bench/torch_cwgan_gp.py RES BATCH DEVICE [STEPS] [CLASSES] [N_CRITIC]
#
# Prints one JSON line with ms/step and images/s (one step = N_CRITIC critic updates, each on a fresh
# real batch, and one generator update), as ../shared/bench/torch_dcgan.py does for the DCGAN.
# The same networks as the 'default' preset (makeConfig in src/worker/models/config.ts):
# - generator: [z(100), embed(label, 32)] -> dense 4x4xC (no bias) -> BN -> ReLU; (log2(RES/4) - 1) x
#   [convT k4 s2 p1 to half the channels, no bias -> BN -> ReLU]; convT k4 s2 p1 to 3 (bias) -> tanh.
#   C = 64 * 2^(log2(RES/4) - 1).
# - projection critic (no normalisation): conv k4 s2 p1 64 (bias) -> LeakyReLU 0.2; (log2(RES/4) - 1) x
#   [conv k4 s2 p1 double (bias) -> LeakyReLU 0.2]; flatten -> phi; score = linear(phi) + embed(label) . phi.
# - loss: -(mean D(real) - mean D(fake)) + 10 * mean_b (||grad_x D(x_hat)_b|| - 1)^2, x_hat mixing
#   real and fake with one weight per sample; generator: -mean D(G(z, y), y). Adam 1e-4, betas (0, 0.9).
# Unlike torch_dcgan.py, losses are not read back every step: the device is synchronised once at the
# end of the timed steps (ours reads its losses once, at the last timed step, too). Its networks and
# updates are importable (bench/torch_quality.py trains them on images).
import sys, time, math, json, torch, torch.nn as nn

Z, EMB, LAMBDA = 100, 32, 10.0


class Generator(nn.Module):
    def __init__(self, res, classes):
        super().__init__()
        n_up = int(math.log2(res // 4))
        ch = 64 * 2 ** (n_up - 1)
        self.embed = nn.Embedding(classes, EMB)
        layers = [nn.Linear(Z + EMB, 16 * ch, bias=False), nn.Unflatten(1, (ch, 4, 4)), nn.BatchNorm2d(ch), nn.ReLU()]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU()]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, 3, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z, y):
        return self.body(torch.cat([z, self.embed(y)], 1))


class ProjectionCritic(nn.Module):
    def __init__(self, res, classes):
        super().__init__()
        n_up = int(math.log2(res // 4))
        ch = 64
        layers = [nn.Conv2d(3, ch, 4, 2, 1), nn.LeakyReLU(0.2)]
        for _ in range(n_up - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1), nn.LeakyReLU(0.2)]
            ch *= 2
        layers += [nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.linear = nn.Linear(ch * 16, 1)
        self.embed = nn.Embedding(classes, ch * 16)

    def forward(self, x, y):
        phi = self.features(x)
        return self.linear(phi) + (self.embed(y) * phi).sum(1, keepdim=True)


def gradient_penalty(D, real, fake, y):
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat, y).sum(), x_hat, create_graph=True)
    norm = torch.sqrt(grad.pow(2).sum((1, 2, 3)) + 1e-12)
    return ((norm - 1) ** 2).mean()


def critic_update(G, D, oD, real, y):
    """One critic update on a real batch and fakes of its labels; returns the loss (a tensor)."""
    with torch.no_grad():
        fake = G(torch.randn(real.shape[0], Z, device=real.device), y)
    oD.zero_grad()
    # real and fake scored as one batch of 2B, as ours does (the same function: no batch norm)
    on_real, on_fake = D(torch.cat([real, fake]), torch.cat([y, y])).chunk(2)
    w = on_real.mean() - on_fake.mean()
    loss = -w + LAMBDA * gradient_penalty(D, real, fake, y)
    loss.backward()
    oD.step()
    return loss


def generator_update(G, D, oG, y):
    """One generator update for labels y; returns the loss (a tensor)."""
    oG.zero_grad()
    g_loss = -D(G(torch.randn(y.shape[0], Z, device=y.device), y), y).mean()
    g_loss.backward()
    oG.step()
    return g_loss


def main():
    RES, B, DEV = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    STEPS = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    CLASSES = int(sys.argv[5]) if len(sys.argv) > 5 else 8
    N_CRITIC = int(sys.argv[6]) if len(sys.argv) > 6 else 5
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(1)
    G, D = Generator(RES, CLASSES).to(DEV), ProjectionCritic(RES, CLASSES).to(DEV)
    oG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9))
    oD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))
    # A fixed pool of random images, one batch worth (as our benchmark's), labels i % CLASSES.
    pool_n = max(B, CLASSES)
    pool = torch.rand(pool_n, 3, RES, RES, device=DEV) * 2 - 1
    pool_labels = torch.arange(pool_n, device=DEV) % CLASSES

    def step():
        for _ in range(N_CRITIC):
            idx = torch.randint(0, pool_n, (B,), device=DEV)
            loss = critic_update(G, D, oD, pool[idx], pool_labels[idx])
        g_loss = generator_update(G, D, oG, pool_labels[torch.randint(0, pool_n, (B,), device=DEV)])
        return loss, g_loss

    def sync():
        if DEV.startswith("cuda"):
            torch.cuda.synchronize()

    for _ in range(3):
        step()
    sync()
    t = time.perf_counter()
    for _ in range(STEPS):
        d_loss, g_loss = step()
    d, g = d_loss.item(), g_loss.item()
    ms = (time.perf_counter() - t) * 1000 / STEPS
    print(json.dumps({"torch": torch.__version__, "model": "cwgan-gp", "device": DEV, "threads": torch.get_num_threads(),
                      "res": RES, "batch": B, "classes": CLASSES, "nCritic": N_CRITIC,
                      "msPerStep": round(ms, 2), "imgsPerSec": round(B * 1000 / ms, 1),
                      "finite": math.isfinite(d) and math.isfinite(g)}))


if __name__ == "__main__":
    main()
