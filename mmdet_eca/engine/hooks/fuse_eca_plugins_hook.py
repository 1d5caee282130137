"""ECA plugins of stock ResNet-family blocks given ECAResNet's tail."""
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from ...backbones import fuse_eca_plugins


@HOOKS.register_module()
class FuseECAPluginsHook(Hook):
    """Before training or testing, give every block whose last
    ``after_conv3`` plugin is an ECA the tail of ``ECAResNet``
    (:func:`~mmdet_eca.backbones.fuse_eca_plugins`): the same model and
    state dict, which in training does not keep the unscaled features (a
    quarter more activation memory per block otherwise). One log line
    says how many.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        count = fuse_eca_plugins(runner.model)
        if count:
            runner.logger.info(
                f'FuseECAPluginsHook: {count} blocks with an ECA plugin '
                "after conv3 take ECAResNet's tail")
