import dataclasses

import pytest

from tasks.moe.specs import list_models, load_model_spec, spec_from_dict

EXPECTED = ["deepseek_moe_16b", "llada2_flash", "llada2_mini", "llada_moe_7b", "llama2_70b", "llama2_7b",
            "mixtral_8x7b", "olmoe_1b_7b", "qwen15_moe_a27b", "qwen3_30b_a3b", "switch_base_128"]


def test_all_models_present():
    assert list_models() == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_total_params_within_2pct_of_published(name):
    s = load_model_spec(name)
    assert abs(s.total_params() / s.published_total_params - 1) < 0.02, (name, s.total_params())


@pytest.mark.parametrize("name", [n for n in EXPECTED if n != "llada_moe_7b"])
def test_active_params_within_3pct_of_published(name):
    s = load_model_spec(name)
    assert abs(s.active_params_per_token() / s.published_active_params - 1) < 0.03, name


def test_lladamoe_active_matches_card_without_input_embedding(lladamoe):
    # The card's 1.4B counts the lm_head but not the input embedding table; we count both.
    s = lladamoe
    assert abs((s.active_params_per_token() - s.vocab * s.hidden) / 1.4e9 - 1) < 0.03


def test_olmoe_total_matches_api_count_up_to_qk_norm():
    s = load_model_spec("olmoe_1b_7b")
    qk_norm = s.num_layers * 2 * s.hidden  # q_norm + k_norm weights, not modelled
    assert s.total_params() + qk_norm == 6_919_161_856


def test_hand_computed_llada2_mini(mini):
    assert mini.bytes_per_expert() == 3 * 2048 * 512 * 2
    assert mini.moe_layer_indices == list(range(1, 20)) and mini.dense_layer_indices == [0]
    assert mini.attention_params_per_layer() == 2048 * 2048 * 2 + 2048 * 512 * 2
    assert mini.shared_expert_params() == 3 * 2048 * 512
    assert mini.dense_ffn_params() == 3 * 2048 * 5120
    assert mini.embedding_params() == 2 * 157184 * 2048
    norms = 2 * 2048
    assert mini.bytes_per_layer(0) == (mini.attention_params_per_layer() + norms + 3 * 2048 * 5120) * 2
    moe_layer = mini.attention_params_per_layer() + norms + 257 * 3 * 2048 * 512 + 2048 * 256
    assert mini.bytes_per_layer(5) == moe_layer * 2
    assert mini.active_bytes_per_token() == mini.active_params_per_token() * 2


def test_switch_layout_and_nongated_experts():
    s = load_model_spec("switch_base_128")
    assert s.moe_layer_indices == list(range(1, 24, 2))
    assert s.expert_params() == 2 * 768 * 3072 and s.top_k == 1


def test_dense_model_has_no_moe_layers():
    s = load_model_spec("llama2_70b")
    assert s.moe_layer_indices == [] and len(s.dense_layer_indices) == 80
    assert s.active_params_per_token() == s.total_params()
    assert abs(s.total_params() * 2 / 1e9 - 138) < 1  # ~138 GB in bf16


def test_unknown_model_names_key_and_choices():
    with pytest.raises(ValueError, match=r"sweep\.models.*llada2_mini"):
        load_model_spec("llada3_giant")


def test_top_k_above_experts_rejected(mini):
    with pytest.raises(ValueError, match="top_k"):
        dataclasses.replace(mini, top_k=300)


def test_bad_field_named():
    d = load_model_spec("llada2_mini").to_dict()
    with pytest.raises(ValueError, match="'hidden'"):
        spec_from_dict(d | {"hidden": -1})
    with pytest.raises(ValueError, match="unknown field"):
        spec_from_dict(d | {"hiddn": 2048})
    with pytest.raises(ValueError, match="published_total_params"):
        spec_from_dict(d | {"published_total_params": "lots"})


def test_roundtrip_dict(mini):
    assert spec_from_dict(mini.to_dict()) == mini


def test_a_spec_file_that_is_not_a_mapping_names_the_file(tmp_path):
    from tasks.moe.hardware import load_hardware
    from tasks.moe.specs import load_model_spec
    (tmp_path / "model").mkdir()
    (tmp_path / "hardware").mkdir()
    (tmp_path / "model" / "broken.yaml").write_text("- 1\n- 2\n")
    (tmp_path / "hardware" / "broken.yaml").write_text("- 1\n")
    with pytest.raises(ValueError, match="broken.yaml: a model spec is a YAML mapping"):
        load_model_spec("broken", conf_dir=tmp_path)
    with pytest.raises(ValueError, match="broken.yaml: a hardware spec is a YAML mapping"):
        load_hardware("broken", conf_dir=tmp_path)
