"""Distillation from the uncompressed model, and how far a compressed model's outputs are from it.

Loss (Hinton et al. 2015): T^2 KL(p_T || q_T), the teacher's softened distribution p_T = softmax(z_t / T)
against the student's q_T, averaged over the batch (no true labels: the offline task trains on
photos whose class is unknown, and the teacher's whole distribution carries more than its top-1).
Output distances, on held-out inputs:
``agree`` top-1 agreement (%), ``kl`` mean KL(p || q) at T = 1 (nats), ``logit_snr_db``
10 log10(sum z_t^2 / sum (z_t - z_s)^2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pvq.metrics import snr_db


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      temperature: float = 1.0) -> torch.Tensor:
    """T^2 * mean over the batch of KL(softmax(z_t/T) || softmax(z_s/T)); logits (N, classes)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    log_q = F.log_softmax(student_logits / temperature, dim=1)
    log_p = F.log_softmax(teacher_logits.detach() / temperature, dim=1)
    return F.kl_div(log_q, log_p, reduction="batchmean", log_target=True) * temperature**2


@torch.no_grad()
def output_distances(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> dict[str, float]:
    """agree (%), kl (nats, mean over inputs) and logit_snr_db of the student's logits against the teacher's."""
    student, teacher = student_logits.double(), teacher_logits.double()
    agree = 100.0 * float((student.argmax(1) == teacher.argmax(1)).double().mean())
    kl = float(F.kl_div(F.log_softmax(student, 1), F.log_softmax(teacher, 1), reduction="batchmean",
                        log_target=True))
    snr = float(snr_db(float((teacher**2).sum()), float(((teacher - student) ** 2).sum())))
    return {"agree": agree, "kl": kl, "logit_snr_db": snr}
