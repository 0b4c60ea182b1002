"""Multi-GPU engines on torch.distributed: tensor parallel attention/dense FFNs, expert-parallel MoE layers."""
