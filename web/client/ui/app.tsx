/** @jsxImportSource preact */
// The top-level screens: loading, onboarding, unlock and the messenger itself.
import { screen } from "../store.ts";
import { Onboarding, Unlock } from "./onboarding.tsx";
import { Messenger } from "./messenger.tsx";

export function App() {
  switch (screen.value) {
    case "loading":
      return (
        <main class="center" aria-busy="true">
          <p>Opening Outpost…</p>
        </main>
      );
    case "onboarding":
      return <Onboarding />;
    case "unlock":
      return <Unlock />;
    case "main":
      return <Messenger />;
  }
}
