"""Small random-init Hugging Face models built from config objects (nothing downloaded): the
models lint is tested on, importable as lint targets (``tests/lint/hf_models.py:gpt2``)."""

import transformers as T

SMALL = dict(vocab_size=100)


def bert():
    return T.BertModel(T.BertConfig(**SMALL, hidden_size=32, num_hidden_layers=2,
                                    num_attention_heads=2, intermediate_size=64,
                                    max_position_embeddings=32))


def gpt2():
    return T.GPT2Model(T.GPT2Config(**SMALL, n_embd=32, n_layer=2, n_head=2, n_positions=32,
                                    bos_token_id=0, eos_token_id=0))


def llama():
    return T.LlamaModel(T.LlamaConfig(**SMALL, hidden_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=2,
                                      intermediate_size=64, max_position_embeddings=32))


def _t5_config():
    return T.T5Config(**SMALL, d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2)


def t5_encoder():
    return T.T5EncoderModel(_t5_config())


def t5():
    return T.T5Model(_t5_config())


def vit():
    return T.ViTModel(T.ViTConfig(image_size=32, patch_size=8, hidden_size=32,
                                  num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=64))


def bloom():
    return T.BloomModel(T.BloomConfig(**SMALL, hidden_size=32, n_layer=2, n_head=2))


def gpt2_without_final_norm():
    import torch

    model = gpt2()
    model.ln_f = torch.nn.Identity()
    return model


def gemma2():
    return T.Gemma2Model(T.Gemma2Config(**SMALL, hidden_size=32, num_hidden_layers=2,
                                        num_attention_heads=2, num_key_value_heads=2,
                                        intermediate_size=64, head_dim=16,
                                        max_position_embeddings=32))


def gptj():
    return T.GPTJModel(T.GPTJConfig(**SMALL, n_embd=32, n_layer=2, n_head=2, rotary_dim=8,
                                    n_positions=32, bos_token_id=0, eos_token_id=0))


def swin():
    return T.SwinModel(T.SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[1, 1],
                                    num_heads=[2, 2], window_size=4))


def beit():
    return T.BeitModel(T.BeitConfig(image_size=32, patch_size=8, hidden_size=32,
                                    num_hidden_layers=2, num_attention_heads=2,
                                    intermediate_size=64, use_mean_pooling=True))
