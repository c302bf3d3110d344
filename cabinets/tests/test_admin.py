import pytest
from django.urls import reverse

from cabinets import demo, services
from cabinets.models import Organization, Survey, SurveyResponse, User

pytestmark = pytest.mark.django_db

MODELS = ["organization", "user", "legalentityrecord", "contract", "notification", "outboundmessage", "survey",
          "surveyquestion", "surveyresponse", "faqgroup", "registrationdraft", "onetimecode"]


def test_admin_pages_render(admin_client):
    import io

    demo.seed(stdout=io.StringIO())
    survey = Survey.objects.get()
    user = User.objects.filter(organization__isnull=False).first()
    services.survey_response_submit(survey=survey, organization=user.organization, user=user, answers={
        q.pk: ([q.choices.first().pk] if q.kind in ("single", "multiple") else "yes" if q.kind == "yes_no" else "ok")
        for q in survey.questions.all()})
    services.otp_send(purpose="login", channel="email", recipient=user.email)
    for model in MODELS:
        assert admin_client.get(reverse(f"admin:cabinets_{model}_changelist")).status_code == 200, model
    response = SurveyResponse.objects.get()
    page = admin_client.get(reverse("admin:cabinets_surveyresponse_change", args=[response.pk])).content.decode()
    assert "Отлично" in page  # the chosen option is visible to staff
    assert admin_client.get(reverse("admin:cabinets_survey_change", args=[survey.pk])).status_code == 200
    assert admin_client.get(reverse("admin:cabinets_notification_add")).status_code == 200
    assert Organization.objects.count() == 2
