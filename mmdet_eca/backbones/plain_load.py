"""One log line for plain (attention-free) weights loaded into an ECA
backbone, in place of MMEngine's list of missing ECA keys.

MMDetection's configs start from plain ImageNet weights. Loaded into an
ECA backbone, they fill everything but the ECA weights, which the file
cannot have; MMEngine then lists every ECA weight as missing. This says
instead how many tensors came from the file and how the ECA layers start:
as the identity (``eca_identity_init=True``), or, with the paper's gate,
damped by about ``sigmoid(0) = 0.5`` on every channel, which is worth a
warning.
"""
import logging

from mmengine.logging import print_log
from torch import nn

from ..layers.eca import ECAModule


def eca_weight_names(backbone: nn.Module):
    """Names of the ECA weights of ``backbone``, relative to it."""
    return [
        name + '.conv.weight' for name, module in backbone.named_modules()
        if isinstance(module, ECAModule)
    ]


def note_plain_weights(backbone: nn.Module, state_dict, prefix: str) -> None:
    """Remember, while ``backbone`` loads, that the weights have no ECA.

    Call from ``prepare_state_dict`` before the keys are consumed; the
    post hook :func:`report_plain_weights` logs the note.
    """
    eca = eca_weight_names(backbone)
    loaded = sum(k.startswith(prefix) for k in state_dict)
    if not eca or not loaded or any(prefix + k in state_dict for k in eca):
        return
    backbone.__dict__['_plain_note'] = (prefix, eca, loaded)


def report_plain_weights(backbone: nn.Module, incompatible_keys) -> None:
    """``load_state_dict`` post hook: log the note of a plain load.

    In identity mode the ECA weights are expected to be missing and are
    taken off the missing keys; with the paper's gate they stay listed.
    """
    note = backbone.__dict__.pop('_plain_note', None)
    if note is None:
        return
    prefix, eca, loaded = note
    into = f" into '{prefix[:-1]}'" if prefix else ''
    head = (f'{type(backbone).__name__} loaded {loaded} tensors from '
            f'weights without ECA{into}; its {len(eca)} ECA layers')
    if getattr(backbone, 'eca_identity_init', False):
        missing = {prefix + k for k in eca}
        incompatible_keys.missing_keys[:] = [
            k for k in incompatible_keys.missing_keys if k not in missing
        ]
        print_log(f'{head} start as the identity (gate exactly 1, '
                  'eca_identity_init=True): the model starts as the plain '
                  'network', logger='current', level=logging.INFO)
    else:
        print_log(f'{head} start from their random initialisation with the '
                  "paper's gate, which scales every channel by about 0.5: "
                  'the pretrained network starts damaged; set '
                  'eca_identity_init=True to start as the plain network',
                  logger='current', level=logging.WARNING)
