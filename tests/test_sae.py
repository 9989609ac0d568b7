"""The discrete SAE: recipe, unit-norm decoder, dead rows, determinism, code meaning."""

from __future__ import annotations

import pytest
import torch

from sae_circuits_widget.engine.sae import (
    NO_CODE,
    DiscreteSAE,
    SAEConfig,
    code_meaning,
    codes_from_activations,
    fit_sae,
    fit_saes,
    is_small_fit,
    live_features,
)


def clustered(n_per=20, d=16, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(k, d, generator=g) * 3
    x = torch.cat([c + 0.1 * torch.randn(n_per, d, generator=g) for c in centers])
    return x, torch.arange(k).repeat_interleave(n_per)


def test_paper_recipe_runs_500_full_batch_epochs_and_learns():
    x, _ = clustered()
    sae = fit_sae(x, n_features=32, l1=0.02, seed=0, recipe="paper")
    assert sae.epochs_run == 500 and len(sae.losses) == 500
    assert sae.losses[-1] < 0.5 * sae.losses[0]
    # the reference's constraints: each feature's encoder vector, and the decoder along
    # its feature axis (one unit vector per model dimension), have unit norm
    assert torch.allclose(sae.W_enc.norm(dim=0), torch.ones(32), atol=1e-5)
    assert torch.allclose(sae.W_dec.norm(dim=0), torch.ones(16), atol=1e-5)
    assert not torch.allclose(sae.W_dec.norm(dim=1), torch.ones(32), atol=1e-2)
    assert float(sae.input_scale) == 1.0 and torch.count_nonzero(sae.b_pre) > 0  # b_pre trained from 0


def test_paper_initialisation_draws_in_the_reference_order():
    # encoder weight [F, d] ~ N(0, 1) with unit rows, encoder bias ~ U(+-1/sqrt(d)),
    # decoder weight [d, F] ~ N(0, 1) with unit rows, all from the global generator
    d, f = 6, 10
    torch.manual_seed(5)
    enc = torch.nn.init.normal_(torch.empty(f, d))
    enc = torch.nn.functional.normalize(enc, dim=-1)
    bias = torch.nn.init.uniform_(torch.empty(f), -d ** -0.5, d ** -0.5)
    dec = torch.nn.functional.normalize(torch.nn.init.normal_(torch.empty(d, f)), dim=-1)
    sae = DiscreteSAE(SAEConfig(d_model=d, n_features=f, recipe="paper", seed=5))
    assert torch.equal(sae.W_enc, enc.T) and torch.equal(sae.b_enc, bias) and torch.equal(sae.W_dec, dec.T)
    assert torch.count_nonzero(sae.b_pre) == 0


def test_paper_gradient_projection_keeps_steps_on_the_sphere():
    x, _ = clustered()
    sae = DiscreteSAE(SAEConfig(d_model=16, n_features=8, recipe="paper"))
    sae.loss(x).backward()
    before = sae.W_enc.grad.clone()
    sae.project_gradients()
    for w in (sae.W_enc, sae.W_dec):
        assert torch.allclose((w.grad * w).sum(dim=0), torch.zeros(w.shape[1]), atol=1e-5)
    assert not torch.allclose(before, sae.W_enc.grad)


def test_sparsity_term_is_a_sum_over_features_averaged_over_vectors():
    x, _ = clustered()
    sae = DiscreteSAE(SAEConfig(d_model=16, n_features=8, l1=0.5))
    acts = sae.encode(x)
    mse = ((sae.decode(acts) - x) ** 2).mean()
    assert torch.allclose(sae.loss(x), mse + 0.5 * acts.sum(dim=1).mean())


def test_stable_recipe_stops_on_convergence_and_scales_inputs():
    x, _ = clustered()
    sae = fit_sae(x * 1000, n_features=32, l1=0.02, seed=0, recipe="stable", max_epochs=2000)
    assert 100 <= sae.epochs_run < 2000
    assert float(sae.input_scale) > 100
    recon, _ = sae(x * 1000)
    rel = (recon - x * 1000).norm() / (x * 1000).norm()
    assert rel < 0.5


def test_codes_separate_clusters():
    x, labels = clustered()
    sae = fit_sae(x, n_features=32, l1=0.02, seed=0)
    codes = sae.codes(x)
    # points of one cluster share codes with no other cluster
    for a in range(4):
        for b in range(a + 1, 4):
            assert not set(codes[labels == a].tolist()) & set(codes[labels == b].tolist())


def test_all_zero_activation_rows_get_no_code():
    acts = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.5, 0.2], [0.0, 0.0, 0.0]])
    assert codes_from_activations(acts).tolist() == [NO_CODE, 1, NO_CODE]


def test_a_dead_sae_gives_only_no_code():
    x, _ = clustered()
    sae = DiscreteSAE(SAEConfig(d_model=x.shape[1], n_features=8))
    with torch.no_grad():
        sae.b_enc.fill_(-1e6)
    assert (sae.codes(x) == NO_CODE).all()
    assert live_features(sae, x).numel() == 0


def test_same_seed_same_sae_different_seed_different_init():
    x, _ = clustered()
    a = fit_sae(x, n_features=16, seed=3)
    b = fit_sae(x, n_features=16, seed=3)
    c = fit_sae(x, n_features=16, seed=4)
    assert torch.equal(a.W_enc, b.W_enc) and torch.equal(a.codes(x), b.codes(x))
    assert not torch.equal(a.W_enc, c.W_enc)


def test_fit_saes_needs_one_seed_per_training_set():
    with pytest.raises(ValueError, match="one seed"):
        fit_saes([torch.randn(4, 3)] * 2, [0])


def test_small_cpu_fits_run_on_one_thread_large_ones_do_not():
    assert is_small_fit((240, 128), 200)  # the bundled model's fit
    assert not is_small_fit((1440, 768), 200)  # GPT-2 small's
    assert not is_small_fit((4, 4), 2, device="meta")  # not a CPU fit


def test_unknown_recipe():
    with pytest.raises(ValueError, match="recipe must be one of"):
        fit_sae(torch.randn(4, 3), recipe="fast")


def test_state_round_trip():
    x, _ = clustered()
    sae = fit_sae(x, n_features=8, seed=0)
    again = DiscreteSAE.from_state(sae.state())
    assert torch.equal(again.codes(x), sae.codes(x))


def test_code_meaning_reads_the_unembedding(tiny_model):
    d = tiny_model.cfg.d_model
    sae = DiscreteSAE(SAEConfig(d_model=d, n_features=4))
    target = 7
    with torch.no_grad():
        direction = tiny_model.W_U[:, target].detach().clone()
        sae.W_dec[1] = direction / direction.norm()
    top = code_meaning(tiny_model, sae, 1, k=3)
    assert len(top) == 3
    assert top[0][0] == tiny_model.tokenizer.decode([target])
    assert top[0][1] >= top[1][1] >= top[2][1]
    assert code_meaning(tiny_model, sae, NO_CODE) == []
    with pytest.raises(ValueError, match="does not exist"):
        code_meaning(tiny_model, sae, 99)


def test_code_meaning_never_names_special_tokens(tiny_model):
    sae = DiscreteSAE(SAEConfig(d_model=tiny_model.cfg.d_model, n_features=2))
    bos = tiny_model.tokenizer.bos_token_id
    with torch.no_grad():
        sae.W_dec[0] = tiny_model.W_U[:, bos].detach() * 10  # writes <bos> most of all
    names = [text for text, _ in code_meaning(tiny_model, sae, 0, k=5)]
    assert len(names) == 5
    assert not set(names) & set(tiny_model.tokenizer.all_special_tokens)
