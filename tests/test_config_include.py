"""Config composition: `include:` merges mappings, lets the including file win, replaces lists and scalars,
names cycles and missing files; the shipped and recipe configs that include others say what they said before."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from codeckit.cli import main
from codeckit.commands.config import main as config_main
from codeckit.config import load_config, merge_config, read_yaml
from codeckit.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
# The commit before the converted files included others: each one composes to what it held there.
BEFORE_INCLUDES = "02f540998c62b64018f459cf4093207f7638ca9d"
CONVERTED = [
    *(f"codeckit/configs/train/{n}_tiny.yaml" for n in ("dac", "encodec", "freqcodec", "snac")),
    *(f"egs/{r}/codec/conf/cpu.yaml" for r in ("libritts", "ljspeech", "vctk")),
    *(f"egs/{r}/codec/conf/gpu_snac_24khz.yaml" for r in ("libritts", "synth_speech", "vctk")),
    "egs/synth_speech/codec/conf/gpu_encodec_24khz.yaml",
    "egs/ljspeech/codec/conf/gpu_freqcodec_16khz.yaml",
]


def write(path: Path, text: str) -> Path:
    """Write `text` to `path` (folders made) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A config to include: nested mappings, a list and scalars."""
    return write(
        tmp_path / "base.yaml",
        "model: {rate: 16000, enc: {dim: 8, rates: [2, 4]}}\ntrain: {steps: 100, lr: 0.1}\ntags: [a, b]\n",
    )


def test_merge_override_and_list_replace(tmp_path: Path, base: Path):
    top = write(tmp_path / "top.yaml", "include: base.yaml\nmodel: {enc: {rates: [8]}}\ntrain: {steps: 5}\nnew: 1\n")
    assert read_yaml(top) == {
        "model": {"rate": 16000, "enc": {"dim": 8, "rates": [8]}},
        "train": {"steps": 5, "lr": 0.1},
        "tags": ["a", "b"],
        "new": 1,
    }


def test_a_scalar_or_null_replaces_a_mapping_and_back(tmp_path: Path, base: Path):
    top = write(tmp_path / "top.yaml", "include: base.yaml\nmodel: null\ntags: {x: 1}\n")
    assert read_yaml(top)["model"] is None and read_yaml(top)["tags"] == {"x": 1}
    assert merge_config({"a": {"b": 1}}, {"a": 2}) == {"a": 2}


def test_a_list_of_includes_applies_in_order(tmp_path: Path, base: Path):
    write(tmp_path / "more.yaml", "train: {lr: 0.5}\ntags: [c]\n")
    top = write(tmp_path / "top.yaml", "include: [base.yaml, more.yaml]\ntrain: {steps: 7}\n")
    data = read_yaml(top)
    assert data["train"] == {"steps": 7, "lr": 0.5} and data["tags"] == ["c"]


def test_nested_includes_are_relative_to_each_including_file(tmp_path: Path, base: Path):
    write(tmp_path / "recipe/conf/mid.yaml", "include: ../../base.yaml\ntrain: {lr: 0.2}\n")
    top = write(tmp_path / "recipe/conf/top.yaml", "include: mid.yaml\ntrain: {steps: 3}\n")
    assert read_yaml(top)["train"] == {"steps": 3, "lr": 0.2}
    assert read_yaml(top)["model"]["enc"]["dim"] == 8


@dataclass
class Train:
    steps: int
    lr: float = 1.0


@dataclass
class Conf:
    train: Train
    model: dict = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


def test_load_config_checks_the_composed_config(tmp_path: Path, base: Path):
    top = write(tmp_path / "top.yaml", "include: base.yaml\ntrain: {steps: 9}\n")
    assert load_config(top, Conf).train == Train(steps=9, lr=0.1)
    write(tmp_path / "bad.yaml", "include: base.yaml\ntrain: {stepz: 9}\n")
    with pytest.raises(ConfigError, match="unknown key 'train.stepz'"):
        load_config(tmp_path / "bad.yaml", Conf)


def test_cycles_are_named(tmp_path: Path):
    write(tmp_path / "a.yaml", "include: b.yaml\nx: 1\n")
    write(tmp_path / "b.yaml", "include: a.yaml\ny: 2\n")
    with pytest.raises(ConfigError, match=r"b\.yaml: include cycle: .*a\.yaml -> .*b\.yaml -> .*a\.yaml"):
        read_yaml(tmp_path / "a.yaml")
    write(tmp_path / "self.yaml", "include: ./self.yaml\n")
    with pytest.raises(ConfigError, match="include cycle"):
        read_yaml(tmp_path / "self.yaml")


def test_the_same_file_twice_is_no_cycle(tmp_path: Path, base: Path):
    write(tmp_path / "left.yaml", "include: base.yaml\n")
    top = write(tmp_path / "top.yaml", "include: [left.yaml, base.yaml]\n")
    assert read_yaml(top) == read_yaml(base)


def test_a_missing_include_names_the_path_and_the_including_file(tmp_path: Path):
    top = write(tmp_path / "conf/top.yaml", "include: ../nope/base.yaml\n")
    with pytest.raises(ConfigError) as e:
        read_yaml(top)
    assert str(e.value) == f"{top}: included file not found: {tmp_path / 'nope/base.yaml'}"


@pytest.mark.parametrize(
    ("included", "include", "message"),
    [
        ("- a\n- b\n", "inc.yaml", "included file .*inc.yaml must hold a mapping, got list"),
        ("just text\n", "inc.yaml", "included file .*inc.yaml must hold a mapping, got str"),
        ("a: [unclosed\n", "inc.yaml", "inc.yaml: invalid YAML"),
        ("a: 1\n", "{path: inc.yaml}", "'include' must be a path or a list of paths"),
        ("a: 1\n", "[inc.yaml, 3]", "'include' must be a path or a list of paths"),
    ],
)
def test_bad_includes(tmp_path: Path, included: str, include: str, message: str):
    write(tmp_path / "inc.yaml", included)
    top = write(tmp_path / "top.yaml", f"include: {include}\nb: 2\n")
    with pytest.raises(ConfigError, match=message):
        read_yaml(top)


def test_an_empty_include_adds_nothing(tmp_path: Path):
    write(tmp_path / "empty.yaml", "# nothing yet\n")
    assert read_yaml(write(tmp_path / "top.yaml", "include: empty.yaml\nb: 2\n")) == {"b": 2}


def test_config_show(tmp_path: Path, base: Path, capsys: pytest.CaptureFixture):
    top = write(tmp_path / "top.yaml", "include: base.yaml\ntrain: {steps: 5}\n")
    assert main(["config", "show", str(top)]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == read_yaml(top)
    assert main(["config", "show", str(top), "--key", "train.steps"]) == 0
    assert capsys.readouterr().out == "5\n"
    assert main(["config", "show", str(top), "--key", "model.enc", "--json"]) == 0
    assert capsys.readouterr().out == '{"dim": 8, "rates": [2, 4]}\n'
    assert main(["config", "show", str(top), "--key", "train.nope"]) == 2
    assert f"{top}: no key 'train.nope'" in capsys.readouterr().err
    assert config_main(["show", str(top), "--key", "train.lr"]) == 0  # `python3 -m codeckit.commands.config`
    assert capsys.readouterr().out == "0.1\n"
    assert config_main(["show", str(top), "--key", "nope"]) == 2
    assert f"{top}: no key 'nope'" in capsys.readouterr().err


def _old_version(path: str) -> str | None:
    """`path` as it stood before it included others; None where git or that commit is not at hand."""
    if shutil.which("git") is None:
        return None
    res = subprocess.run(
        ["git", "show", f"{BEFORE_INCLUDES}:{path}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return res.stdout if res.returncode == 0 else None


@pytest.mark.parametrize("path", CONVERTED)
def test_converted_configs_compose_to_what_they_held(path: str):
    old = _old_version(path)
    if old is None:
        pytest.skip(f"no git history with commit {BEFORE_INCLUDES[:7]}")
    assert "include" in yaml.safe_load((ROOT / path).read_text())
    assert read_yaml(ROOT / path) == yaml.safe_load(old), (
        f"{path} (with its includes) no longer says what it said before it included others; if that change is "
        "meant, take it out of CONVERTED"
    )


def test_recipe_stages_save_the_composed_config(tmp_path: Path):
    recipe = tmp_path / "recipe"
    (recipe / "utils").parent.mkdir(parents=True)
    (recipe / "utils").symlink_to(ROOT / "egs/utils")
    write(recipe / "path.sh", f'CODECKIT_ROOT="{ROOT}"\n. "$CODECKIT_ROOT/egs/utils/path.sh"\n')
    shutil.copy(ROOT / "egs/synth_speech/codec/cmd.sh", recipe / "cmd.sh")
    conf = ROOT / "egs/libritts/codec/conf/cpu.yaml"
    write(recipe / "conf/cpu.yaml", f"include: {conf}\ndata: {{batch_size: 4}}\n")
    args = ["bash", "utils/codec_stages.sh", "--conf", "conf/cpu.yaml", "--exp", "exp/x", "--stage", "6"]
    res = subprocess.run(args, cwd=recipe, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    saved = yaml.safe_load((recipe / "exp/x/train.yaml").read_text())
    assert "include" not in saved and saved == read_yaml(recipe / "conf/cpu.yaml")
    assert saved["data"]["batch_size"] == 4 and saved["train"]["max_steps"] == 4000
