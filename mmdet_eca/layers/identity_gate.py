"""ECA inserted into a network pretrained without it, starting as identity.

The paper's gate is ``sigmoid(conv1d(y))``. A freshly initialised ECA put
into a plain-pretrained ResNet therefore multiplies every residual branch
by about ``sigmoid(0) = 0.5``: the detector starts from a damaged
backbone, and ECA's reported gains came from backbones pretrained *with*
ECA (ECANet issue #29). No initialisation of the paper's gate fixes it, as
``sigmoid`` never reaches 1.

``identity_init=True`` uses ``2 * sigmoid(conv1d(y))`` with the convolution's
weight set to zero: the gate is exactly 1 for every input at the start, so
the network computes what the plain one computes, and the gradient of the
weight, ``0.5 * dL/dgate * y`` summed over the kernel's window, is not
zero, so the attention learns from there. Its range, (0, 2), lets a
channel be amplified as well as damped; the only parameter is still
``conv.weight`` of shape [1, 1, k], so the state dict keeps its keys and
shapes. (A learnable blend ``x * (1 - a + a * sigmoid(.))`` with ``a = 0``
would start at identity too, but adds a parameter to every layer, and at
``a = 0`` the convolution's gradient is zero until ``a`` moves.)

The two gates read the same weight differently, so weights trained under
one are wrong under the other: the released ECA-Net weights would give
twice their trained gate in identity mode. A state dict saved from an
identity-mode ECA records its gate in the state dict's metadata (torch's
``_metadata``, which ``torch.save`` and MMEngine's checkpoints keep; the
keys do not change). Loading ECA weights whose metadata names the other
gate, or names none (the released files), warns; it does not refuse,
because loaders that strip a prefix (``init_cfg`` with ``prefix=``) drop
the metadata, and a refusal would then block a user's own identity-mode
checkpoint.
"""
import warnings

import torch.nn as nn

# The metadata entry an identity-mode ECA writes; absent means the paper's.
GATE_KEY = 'eca_gate'
SCALED = 'scaled_sigmoid'
PAPER = 'sigmoid'


def gate_name(identity_init: bool) -> str:
    """The metadata name of the gate of an ECA built with ``identity_init``.
    """
    return SCALED if identity_init else PAPER


def record_gate(module: nn.Module, state_dict, prefix: str,
                local_metadata: dict) -> None:
    """State-dict hook: note an identity-mode gate in the metadata."""
    if module.identity_init:
        local_metadata[GATE_KEY] = SCALED


def check_gate(module: nn.Module, state_dict, prefix: str,
               local_metadata: dict, *args) -> None:
    """Load pre-hook: warn when the weight was trained with the other gate.
    """
    if prefix + 'conv.weight' not in state_dict:
        return
    saved = local_metadata.get(GATE_KEY, PAPER)
    own = gate_name(module.identity_init)
    if saved == own:
        return
    if module.identity_init:
        warnings.warn(
            'loading ECA weights trained with the paper\'s gate sigmoid(.) '
            '(the released ECA-Net weights, or a model built with '
            'identity_init=False) into ECA built with identity_init=True, '
            'whose gate 2 * sigmoid(.) doubles what they learned: build the '
            'model with identity_init=False (eca_identity_init=False) for '
            'ECA-pretrained weights; ignore this only for weights of your '
            'own identity-mode run loaded through a prefix', stacklevel=2)
    else:
        warnings.warn(
            'loading ECA weights trained with identity_init=True (gate '
            '2 * sigmoid(.)) into ECA with the paper\'s gate sigmoid(.), '
            'which halves what they learned: build the model with '
            'identity_init=True (eca_identity_init=True)', stacklevel=2)
