from django.shortcuts import render


def verify_page(request):
    return render(request, "signing/verify.html")
