"""BentoML's own tracer, once `trace_sampling` is installed: unsampled requests are not recorded,
sampled ones are, and every span still carries a trace id for the logs."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision

from service import trace_sampling


def test_bentomls_tracer_records_no_span_when_tracing_is_off() -> None:
    from bentoml._internal.configuration.containers import BentoMLContainer

    trace_sampling.install()
    provider = BentoMLContainer.tracer_provider.get()  # built as a worker builds it: sample rate 0
    span = provider.get_tracer("test").start_span("request")
    assert not span.is_recording()
    assert span.get_span_context().trace_id != 0


def test_sampled_traces_are_recorded_and_a_callers_decision_is_kept() -> None:
    always = TracerProvider(sampler=trace_sampling.sampled_only(1.0)).get_tracer("test")
    parent = always.start_span("caller")
    assert parent.is_recording()
    never = trace_sampling.sampled_only(0.0)
    child_context = trace.set_span_in_context(parent)
    decision = never.should_sample(child_context, parent.get_span_context().trace_id, "child").decision
    assert decision == Decision.RECORD_AND_SAMPLE
    assert never.should_sample(None, 12345, "root").decision == Decision.DROP
