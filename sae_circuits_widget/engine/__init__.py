"""The circuit-finding pipeline: model loading, head outputs, the discrete SAE, scores, results.

Data flow: :mod:`.model` loads a TransformerBridge; :mod:`.activations` reads each
attention head's output per prompt; :mod:`.sae` fits the discrete sparse autoencoder and
turns each head output into one integer code; :mod:`.scoring` turns codes into node and
edge scores; :mod:`.discover` runs the whole chain and returns a
:class:`~.result.CircuitResult`; :mod:`.session` keeps the caches that make the
notebook widgets redraw in well under a second. :mod:`.validation` checks prompts and
:mod:`.serialization` reads and writes results as JSON. Nothing here imports a widget.
"""
