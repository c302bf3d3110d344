from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def appeal_list(request):
    return render(request, "appeals/list.html")
