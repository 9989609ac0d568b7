from sae_circuits_widget.testing import tiny_model


def test_tiny_model_tokenizes_words_as_single_tokens(tiny_model):
    tokens = tiny_model.to_str_tokens("When Mary and John went to the store, John gave a drink to")
    assert tokens[0] == "<bos>"
    assert tokens[1:4] == ["When", "Mary", "and"]
    assert tiny_model.to_single_token(" Mary") == tiny_model.to_single_token("Mary")


def test_tiny_model_is_seeded():
    a, b = tiny_model(seed=1), tiny_model(seed=1)
    tokens = a.to_tokens("Mary gave a book to John")
    assert (a(tokens) == b(tokens)).all()
