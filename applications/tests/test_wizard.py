"""The wizard as a definition: the engine builds forms, completeness, readiness and the
checklist from `applications/definitions.py`, and a definition is checked when it is made."""

import pytest

from applications import definitions, selectors, wizard
from applications.tests.factories import ApplicationFactory, DocumentTypeFactory, valid_tab_data
from applications.wizard import Field, Kind, Service, Stage, Tab


def test_every_service_has_unique_tab_codes_and_a_form_per_tab():
    for service in definitions.SERVICES.values():
        codes = [t.code for s in service.stages for t in s.tabs]
        assert len(codes) == len(set(codes))
        for tab in service.tabs.values():
            form = tab.bind({})
            assert not form.is_valid()  # every tab has a required field
            if tab.repeatable is None:
                assert list(form.fields) == list(tab.field_names)


def test_a_definition_with_a_tab_code_twice_is_refused():
    tab = Tab("a", "A", fields=(Field("x", Kind.TEXT, "X"),))
    with pytest.raises(ValueError):
        Service(code="x", title="", application_title="", create_title="", create_question="", contract_label="",
                contract_kind="guarantee", list_url="", create_url="", transitions=(), order=(),
                stages=(Stage(1, "1", tabs=(tab,)), Stage(2, "2", tabs=(tab,))))


def test_field_kinds_build_the_forms_fields():
    tab = Tab("t", "T", fields=(
        Field("n", Kind.NUMBER, "N", min_value=1), Field("w", Kind.WHOLE, "W", required=False),
        Field("d", Kind.DATE, "D"), Field("c", Kind.CHECK, "C"), Field("s", Kind.SELECT, "S", choices=(("a", "A"),)),
        Field("p", Kind.PHONE, "P"), Field("e", Kind.EMAIL, "E"), Field("r", Kind.DIGITS, "R", shown_required=True,
                                                                        required=False),
    ))
    form = tab.bind({"t-n": "1 000,5", "t-d": "2024-01-02", "t-s": "a", "t-p": "87011234567", "t-e": "a@b.kz"})
    assert form.is_valid(), form.errors
    assert str(form.cleaned_data["n"]) == "1000.5"
    assert form.cleaned_data["p"] == "+77011234567"
    assert form.cleaned_data["c"] is False
    assert form.fields["r"].show_required and form.fields["r"].widget.attrs["aria-required"] == "true"
    bad = tab.bind({"t-n": "abc", "t-d": "2024-01-02", "t-s": "zz", "t-p": "1", "t-e": "x"})
    assert set(bad.errors) == {"n", "s", "p", "e"}


@pytest.mark.django_db
def test_readiness_is_computed_from_the_definition(company):
    DocumentTypeFactory(stage=2)
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    readiness = selectors.application_readiness(app)
    assert all(readiness.tabs[code] for code in definitions.GUARANTEE.tabs)
    assert readiness.stages[1] is True and readiness.stages[2] is False  # the document is not uploaded
    assert set(readiness.parts["developer"]) == {2, 3, 4}
    app.data = {**app.data, "head": {}}
    readiness = selectors.application_readiness(app)
    assert readiness.tabs["head"] is False and str(definitions.HEAD.title) in [str(m) for m in readiness.missing]


@pytest.mark.django_db
def test_checklist_lists_document_slots_then_checklist_tabs(company):
    doc = DocumentTypeFactory(stage=3)
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    keys = [item["key"] for item in selectors.checklist(app)]
    assert keys == [f"doc-{doc.pk}", "expertise"]


def test_sections_follow_the_definition_order():
    titles = [title for title, _rows in wizard.sections(definitions.GUARANTEE, valid_tab_data())]
    assert titles == [str(t.title) for t in definitions.GUARANTEE.tabs.values()]
