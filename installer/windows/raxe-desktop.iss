; RAXE Desktop - Inno Setup 6 script: per-user install, no administrator rights needed.
;
; Built by installer/build.py on Windows, which passes the defines below:
;   ISCC /DAppVersion=0.1.0 /DNumericVersion=0.1.0.0 /DSourceDir=dist\raxe-desktop /DOutputDir=dist ^
;        /DIconFile=build\installer\icons\raxe-desktop.ico installer\windows\raxe-desktop.iss
;
; Installs to %LOCALAPPDATA%\Programs\RAXE Desktop, adds a Start-menu shortcut that carries
; the app's AppUserModelID (toast notifications show "RAXE Desktop" only when the shortcut
; and the running process agree on it), optionally starts the app at sign-in (HKCU Run, the
; same value the app's own "Start at login" setting writes), and uninstalls cleanly: program
; files, shortcuts and the Run value always; settings, history and the hashing key on request.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef NumericVersion
  #define NumericVersion "0.0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\raxe-desktop"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\installer\icons\raxe-desktop.ico"
#endif

#define AppName "RAXE Desktop"
#define AppExe "raxe-desktop.exe"
; Must match desktop/platform/windows.py APP_USER_MODEL_ID (SetCurrentProcessExplicitAppUserModelID).
#define AppUserModelID "RAXE.Desktop"
; Must match desktop/platform/windows.py (RUN_KEY, VALUE_NAME).
#define RunKey "Software\Microsoft\Windows\CurrentVersion\Run"
#define RunValue "RAXE Desktop"
; platformdirs.user_config_dir("raxe-desktop", appauthor=False) on Windows.
#define ConfigDir "{localappdata}\raxe-desktop"
; keyring service name used by desktop/platform/keystore.py (Windows Credential Manager).
#define CredentialTarget "raxe-desktop"

[Setup]
; AppId never changes: it is how upgrades find and replace the previous install.
AppId={{6E0B7C1A-3F0B-4C7D-9B8E-2A5D1C9F4E21}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=RAXE Desktop team
VersionInfoVersion={#NumericVersion}
VersionInfoProductName={#AppName}
VersionInfoDescription={#AppName} Setup
; Per-user: {localappdata}\Programs, HKCU, the user's Start menu; never asks for elevation.
PrivilegesRequired=lowest
DefaultDirName={localappdata}\Programs\{#AppName}
DisableDirPage=auto
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=RAXE-Desktop-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/normal
SolidCompression=yes
WizardStyle=modern
; The tray app keeps running. The uninstaller has no Restart Manager step: it only checks
; AppMutex, which the app holds while it runs (desktop/platform/windows.py
; RUNNING_MUTEX_NAME; a test keeps the two equal), and asks the user to quit the app
; (OK to retry, Cancel to stop). Setup checks the mutex at start-up the same way; the
; Restart Manager (CloseApplications) stays for any other program holding our files.
AppMutex=RAXEDesktopRunning
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "startatlogin"; Description: "Start {#AppName} when I sign in"; GroupDescription: "Startup:"
Name: "desktopicon"; Description: "Create a desktop shortcut"; GroupDescription: "Shortcuts:"; Flags: unchecked

[InstallDelete]
; An upgrade must not keep the previous version's libraries and modules beside the new
; ones (PyInstaller's _internal\ folder changes between versions): remove it first.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; AppUserModelID: "{#AppUserModelID}"; Comment: "Warns when copied or selected text is a threat"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; AppUserModelID: "{#AppUserModelID}"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "{#RunKey}"; ValueType: string; ValueName: "{#RunValue}"; ValueData: """{app}\{#AppExe}"""; Tasks: startatlogin; Flags: uninsdeletevalue

[Run]
Filename: "{app}\{#AppExe}"; Description: "Start {#AppName} now"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Anything the app or Python left beside the program files.
Type: filesandordirs; Name: "{app}"

[Code]
function CredDeleteW(TargetName: String; CredType: DWORD; Flags: DWORD): BOOL;
  external 'CredDeleteW@advapi32.dll stdcall uninstallonly';

const
  CRED_TYPE_GENERIC = 1;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usUninstall then
  begin
    { The app's own "Start at login" setting may have written the Run value even when
      the installer task was not chosen: remove it either way. }
    RegDeleteValue(HKEY_CURRENT_USER, '{#RunKey}', '{#RunValue}');
  end;
  if CurUninstallStep = usPostUninstall then
  begin
    if (not UninstallSilent) and DirExists(ExpandConstant('{#ConfigDir}')) and
       (MsgBox('Also delete your RAXE Desktop settings, detection history and event log?',
               mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES) then
    begin
      DelTree(ExpandConstant('{#ConfigDir}'), True, True, True);
      CredDeleteW('{#CredentialTarget}', CRED_TYPE_GENERIC, 0);
    end;
  end;
end;
