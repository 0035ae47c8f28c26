"""`pocket-batch bench synth` end to end on the small random model: stock pocket-tts and a Ray pipeline."""

from __future__ import annotations

from rich.console import Console

from pocket_batch.benchmarks.synth import _chosen, bench_synth, verify_setups


def test_bench_synth_repeats_in_alternating_order_and_reports_the_median(small_model, tmp_path):
    """Two configurations without Ray (the pipeline's is the next test's): the order is the point here."""
    log = tmp_path / "bench.txt"
    with log.open("w") as out:
        rows = bench_synth([1], workers=1, batch_size=2, model_dir=small_model.parent,
                           only=["stock pocket-tts, 1 process"], console=Console(file=out, width=200), repeat=2)
    assert [r["config"] for r in rows] == ["stock pocket-tts, 1 process, fp32", "stock pocket-tts, 1 process, int8"]
    for row in rows:
        assert row["audio_s"] > 0 and len(row["speeds"]) == 2 and row["speed"] == sum(row["speeds"]) / 2
        assert row["peak_rss_mb"] > 100 and 0 < row["peak_private_mb"] <= row["peak_rss_mb"]
    lines = log.read_text().splitlines()
    progress = [line.split(",")[2].strip() for line in lines if line.strip().endswith("audio-s/wall-s")]
    # forward, then backward: the fp32 run opens the first round and closes the second
    assert progress == ["fp32", "int8", "int8", "fp32"]
    assert "(2 runs)" in log.read_text()


def test_bench_synth_reads_with_a_long_cloned_voice_when_asked(small_model, tmp_path):
    """--voice-seconds: both sides read with one voice state cloned from that much audio, whose prompt
    fills more of every row's cache than the 3 s preset's."""
    from safetensors.torch import load_file

    with (tmp_path / "bench.txt").open("w") as out:
        rows = bench_synth([2], workers=1, batch_size=2, model_dir=small_model.parent,
                           only=["stock pocket-tts, 1 process, int8", "batch 2, int8"],
                           console=Console(file=out, width=200), voice_seconds=12)
    # stock, the pipeline, and on a CPU without AMX the default row too (its name holds "batch 2, int8")
    assert {r["config"] for r in rows} >= {"stock pocket-tts, 1 process, int8", "pipeline, 1 workers x batch 2, int8"}
    assert len({r["audio_s"] for r in rows}) == 1 and rows[0]["audio_s"] > 0

    def prompt(path) -> int:
        return int(load_file(str(path))["transformer.layers.0.self_attn/offset"][0])

    clone = small_model.parent / "bench-voices" / "clone-12s.safetensors"
    assert prompt(clone) > 3 * prompt(small_model.parent / "voices" / "alba.safetensors")


def test_bench_postproc_runs_end_to_end(small_model, tmp_path):
    from rich.console import Console

    from pocket_batch.benchmarks.postproc import bench_postproc

    [row] = bench_postproc([0.02], small_model.parent, tmp_path, "podcast", Console(file=open("/dev/null", "w")))
    assert row["chapters"] >= 1 and row["audio_hours"] > 0.01 and row["wall"] > 0 and row["peak_mb"] > 0


def test_bench_driver_feeds_stand_in_workers_through_the_real_executor_and_cache(tmp_path):
    """The stand-in only replaces the model: every chunk goes through Ray, the worker's feed and the cache."""
    from pocket_batch.benchmarks.driver import bench_driver

    log = tmp_path / "driver.txt"
    with log.open("w") as out:
        [row] = bench_driver([2], chunks=120, batch_size=4, worker_rate=1.0, console=Console(file=out, width=200))
    assert row["workers"] == 2 and row["written"] == row["chunks"] == 120
    assert row["audio_s"] > 120 and row["chunks_per_s"] > 0 and 0 < row["cpu_ms"] < 1000 * row["wall_s"] / 120 * 2
    assert "workers it can feed" in log.read_text()


def test_bench_driver_paces_its_stand_ins_to_the_chunks_a_second_asked(tmp_path):
    from pocket_batch.benchmarks.driver import bench_driver

    with (tmp_path / "driver.txt").open("w") as out:
        [row] = bench_driver([2], chunks=40, batch_size=4, worker_rate=1.0, console=Console(file=out, width=200), pace=40.0)
    assert row["written"] == 40 and row["wall_s"] >= 1.0  # 20 chunks a worker, one every 1/20 s


def test_bench_decoder_measures_each_precision_against_fp32_on_the_same_latents(small_model, tmp_path):
    from pocket_batch.benchmarks.decoder import bench_decoder

    with (tmp_path / "decoder.txt").open("w") as out:
        result = bench_decoder(3, small_model.parent, Console(file=out, width=200), rounds=1)
    assert result["chunks"] == 3 and result["audio_s"] > 1
    names = {"fp32", "bf16", "fp32, int8 linears", "bf16, int8 linears", "bf16, int8 linears and convolutions"}
    assert set(result["ms_per_frame"]) == names and all(ms > 0 for ms in result["ms_per_frame"].values())
    for fidelity in (result["fidelity"], result["fidelity_full_scales"]):
        assert set(fidelity) == names - {"fp32"}
        for f in fidelity.values():  # rounding only: close to fp32, never the same
            assert 35 < f["worst_snr_db"] <= f["snr_db"] < 120 and 0 < f["max_diff_of_peak"] < 0.03
    # with the layer scales at 1 the int8 layers' rounding weighs on the audio: the bound is a real one
    assert result["fidelity_full_scales"]["fp32, int8 linears"]["snr_db"] < result["fidelity"]["fp32, int8 linears"]["snr_db"] - 20


def test_bench_parts_times_each_part_of_a_workers_core_and_splits_the_backbone(small_model, tmp_path):
    """`bench parts` on the small model: every part timed, the backbone's transformer and flow head inside it,
    SEANet inside the decoder, FLOPs counted for the model's parts, and the weights as the int8 model holds them."""
    from pocket_batch.benchmarks.parts import bench_parts

    with (tmp_path / "parts.txt").open("w") as out:
        result = bench_parts(2, 2, small_model.parent, Console(file=out, width=250))
    parts = result["parts"]
    assert set(parts) == {"backbone", "transformer", "flow head", "decoder", "seanet", "words", "voice", "quality"}
    outer = ("backbone", "decoder", "words", "voice", "quality")
    assert abs(sum(parts[name]["share"] for name in outer) - 1) < 1e-9
    backbone = parts["backbone"]["ms_per_audio_s"]
    assert abs(parts["transformer"]["ms_per_audio_s"] + parts["flow head"]["ms_per_audio_s"] - backbone) < 1e-6 * backbone
    assert parts["seanet"]["ms_per_audio_s"] < parts["decoder"]["ms_per_audio_s"]
    for name in ("transformer", "flow head", "decoder", "seanet"):
        assert parts[name]["gflop_per_audio_s"] > 0 and parts[name]["peak_gflops"] > 0
    assert "peak_gflops" not in parts["backbone"]  # int8 and fp32 together: no one peak
    assert result["backbone_weight_gb_s"] > 0
    assert "of which flow head" in (tmp_path / "parts.txt").read_text()


def test_bench_only_picks_a_configuration_by_its_full_name_or_by_part_of_it():
    """The default row's name begins every verified row's: its full name picks it alone."""
    every = verify_setups(2, 24)
    plain = every[1].name
    names = [s.name for s in _chosen(every, [plain, "words + voice + quality"])]
    assert names == [plain, f"{plain}, verified, words + voice + quality",
                     f"{plain}, verified, words + voice + quality + mos"]
    assert [s.name for s in _chosen(every, [plain])] == [plain]
    assert [s.name for s in _chosen(every, ["stock"])] == ["stock pocket-tts, 1 process, int8"]
    assert _chosen(every, None) == every
